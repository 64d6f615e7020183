//go:build linux

package ring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nops submits k NOPs with user data 1..k.
func nops(t *testing.T, r *Ring, k int) {
	t.Helper()
	for i := 1; i <= k; i++ {
		s := sqe(t, r)
		s.PrepNop()
		s.SetUserData(uint64(i))
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
}

// SubmitAndWaitMin gathers a batch: it returns at once when n CQEs are
// ready, otherwise after minWait if one is, and an idle ring is not woken by
// minWait (it waits for its first CQE, or the general timeout).
func TestSubmitAndWaitMin(t *testing.T) {
	requireCap(t, CapMinWait|CapExtArg)
	r := newRing(t, Config{Entries: 8})
	if !r.UsesMinWait() {
		t.Fatal("UsesMinWait false with FEAT_MIN_TIMEOUT")
	}
	elapsed := func(f func() (int, error)) time.Duration {
		t.Helper()
		t0 := time.Now()
		if _, err := f(); err != nil {
			t.Fatal(err)
		}
		return time.Since(t0)
	}

	// n ready: no wait, however long minWait is.
	nops(t, r, 4)
	if d := elapsed(func() (int, error) { return r.SubmitAndWaitMin(4, 10*time.Second, -1) }); d > 5*time.Second {
		t.Fatalf("4 CQEs ready, wait for 4 took %v", d)
	}
	reap(t, r, 4)

	// One ready of four: the wait lasts minWait, then returns with it.
	nops(t, r, 1)
	if d := elapsed(func() (int, error) { return r.SubmitAndWaitMin(4, 100*time.Millisecond, -1) }); d < 80*time.Millisecond || d > 5*time.Second {
		t.Fatalf("1 CQE of 4 ready: wait took %v, want about minWait (100ms)", d)
	}
	reap(t, r, 1)

	// None ready, no general timeout: minWait does not end the wait, the
	// first CQE does (here a 300 ms TIMEOUT's).
	s := sqe(t, r)
	s.PrepTimeout(&unix.Timespec{Nsec: int64(300 * time.Millisecond)}, 0, 0)
	s.SetUserData(99)
	if d := elapsed(func() (int, error) { return r.SubmitAndWaitMin(4, 10*time.Millisecond, -1) }); d < 250*time.Millisecond {
		t.Fatalf("idle ring woke after %v: minWait (10ms) ended a wait without CQEs", d)
	}
	if got := reap(t, r, 1); got[0].UserData != 99 {
		t.Fatalf("got %+v", got)
	}

	// None ready, general timeout d: the wait lasts d, not minWait.
	if d := elapsed(func() (int, error) { return r.SubmitAndWaitMin(4, 10*time.Millisecond, 200*time.Millisecond) }); d < 150*time.Millisecond {
		t.Fatalf("idle wait with d=200ms ended after %v", d)
	}
	// A d shorter than minWait bounds the wait.
	if d := elapsed(func() (int, error) { return r.SubmitAndWaitMin(4, 10*time.Second, 50*time.Millisecond) }); d > 5*time.Second {
		t.Fatalf("wait with d=50ms < minWait took %v", d)
	}
	quiet(t, r)
}

// Without min-wait (masked, as before 6.12) SubmitAndWaitMin waits for one CQE.
func TestSubmitAndWaitMinDisabled(t *testing.T) {
	r := newRing(t, Config{Entries: 8, DisableMinWait: true})
	if r.UsesMinWait() {
		t.Fatal("UsesMinWait true with DisableMinWait")
	}
	nops(t, r, 1)
	t0 := time.Now()
	if _, err := r.SubmitAndWaitMin(4, 10*time.Second, -1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("1 CQE ready, batching disabled: wait took %v", d)
	}
	reap(t, r, 1)
}
