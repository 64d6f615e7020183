//go:build unix

package reactortest

import (
	"os"
	"testing"
	"time"
)

// The baseline sees an fd opened after it, and BackToBase returns once the
// fd is closed again.
func TestBaselineCountsFDs(t *testing.T) {
	base := Baseline()
	if base.FDs <= 0 || base.Goroutines <= 0 || base.RSS <= 0 {
		t.Fatalf("baseline %+v", base)
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if got := CountFDs(); got != base.FDs+1 {
		t.Fatalf("CountFDs %d after opening one file, baseline %d", got, base.FDs)
	}
	f.Close()
	BackToBase(t, base, 64<<20)
}

func TestRaiseNoFileRestores(t *testing.T) {
	before := RaiseNoFile(t, 0) // already at least 0: unchanged
	t.Run("raise", func(t *testing.T) {
		if got := RaiseNoFile(t, before+1); got < before {
			t.Fatalf("soft limit %d after raising from %d", got, before)
		}
	})
	if after := RaiseNoFile(t, 0); after != before {
		t.Fatalf("soft limit %d after the subtest, want %d restored", after, before)
	}
}

func TestN(t *testing.T) {
	t.Setenv("RINGO_SOAK", "0")
	if N(1, 2) != 1 || Full() {
		t.Fatal("RINGO_SOAK=0 is the small slice")
	}
	t.Setenv("RINGO_SOAK", "1")
	if N("a", "b") != "b" || !Full() {
		t.Fatal("RINGO_SOAK=1 is the full size")
	}
}

func TestWaitUntil(t *testing.T) {
	n := 0
	WaitUntil(t, 5*time.Second, "third poll", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("cond polled %d times, want 3", n)
	}
}
