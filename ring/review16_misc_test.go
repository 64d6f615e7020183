//go:build linux

package ring

import (
	"testing"
	"time"
)

// SubmitAndWaitMin(0, ...) must not wait: "until n CQEs are ready" holds at
// once for n == 0, as for SubmitAndWaitTimeout(0, d).
func TestWaitMinZero(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"minwait", Config{Entries: 8}}, {"nominwait", Config{Entries: 8, DisableMinWait: true}}, {"noextarg", Config{Entries: 8, DisableExtArg: true}}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, c.cfg)
			t0 := time.Now()
			if _, err := r.SubmitAndWaitMin(0, time.Millisecond, 500*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); d > 200*time.Millisecond {
				t.Fatalf("SubmitAndWaitMin(0, 1ms, 500ms) with nothing in flight waited %v", d)
			}
			t0 = time.Now()
			if _, err := r.SubmitAndWaitTimeout(0, 500*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); d > 200*time.Millisecond {
				t.Fatalf("SubmitAndWaitTimeout(0, 500ms) waited %v", d)
			}
		})
	}
}

// CQ overflow with NODROP: every CQE is delivered, in order, through
// PeekBatch and CQAdvance alone.
func TestOverflowOrder(t *testing.T) {
	for _, c := range []struct {
		name    string
		disable uint32
	}{{"default", 0}, {"coop", SetupSingleIssuer | SetupDeferTaskrun}, {"plain", SetupSingleIssuer | SetupDeferTaskrun | SetupCoopTaskrun | SetupTaskrunFlag}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, Config{Entries: 4, CQEntries: 4, Disable: c.disable})
			const total = 40
			ud := uint64(0)
			for ud < total {
				for i := 0; i < 4; i++ {
					s := sqe(t, r)
					s.PrepNop()
					ud++
					s.SetUserData(ud)
				}
				if _, err := r.Submit(); err != nil {
					t.Fatalf("submit at %d: %v", ud, err)
				}
			}
			if !r.CQOverflowed() {
				t.Logf("no overflow flagged")
			}
			var batch [3]*CQE
			next := uint64(1)
			deadline := time.Now().Add(2 * time.Second)
			for next <= total && time.Now().Before(deadline) {
				n := r.PeekBatch(batch[:])
				for _, c := range batch[:n] {
					if c.UserData != next {
						t.Fatalf("got ud %d, want %d", c.UserData, next)
					}
					next++
				}
				r.CQAdvance(uint32(n))
			}
			if next <= total {
				t.Fatalf("got %d of %d CQEs; overflowed %v dropped %d", next-1, total, r.CQOverflowed(), r.CQDropped())
			}
		})
	}
}

// SubmitAndWaitTimeout(n > CQ size) must end once the CQ is full rather
// than wait for d.
func TestWaitMoreThanCQ(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"extarg", Config{Entries: 4, CQEntries: 4}}, {"noextarg", Config{Entries: 4, CQEntries: 4, DisableExtArg: true}}, {"min", Config{Entries: 4, CQEntries: 4}}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, c.cfg)
			for i := 0; i < 4; i++ {
				s := sqe(t, r)
				s.PrepNop()
				s.SetUserData(uint64(i + 1))
			}
			t0 := time.Now()
			var err error
			if c.name == "min" {
				_, err = r.SubmitAndWaitMin(100, time.Millisecond, 2*time.Second)
			} else {
				_, err = r.SubmitAndWaitTimeout(100, 2*time.Second)
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); d > time.Second {
				t.Fatalf("waited %v with the CQ full", d)
			}
			reap(t, r, 4)
		})
	}
}

// The count SubmitAndWaitTimeout/SubmitAndWaitMin return is the caller's
// SQEs consumed, also when the wait times out.
func TestWaitCounts(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		min  bool
	}{{"extarg", Config{Entries: 8}, false}, {"noextarg", Config{Entries: 8, DisableExtArg: true}, false}, {"min", Config{Entries: 8}, true}, {"min-d<min", Config{Entries: 8}, true}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, c.cfg)
			for i := 0; i < 3; i++ {
				s := sqe(t, r)
				s.PrepNop()
				s.SetUserData(uint64(i + 1))
			}
			var n int
			var err error
			switch {
			case c.name == "min-d<min":
				n, err = r.SubmitAndWaitMin(6, 50*time.Millisecond, 30*time.Millisecond)
			case c.min:
				n, err = r.SubmitAndWaitMin(6, 10*time.Millisecond, 30*time.Millisecond)
			default:
				n, err = r.SubmitAndWaitTimeout(6, 30*time.Millisecond)
			}
			if err != nil || n != 3 {
				t.Fatalf("returned %d, %v; want 3, nil", n, err)
			}
			reap(t, r, 3)
			quiet(t, r)
		})
	}
}
