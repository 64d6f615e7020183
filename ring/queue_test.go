//go:build linux

package ring

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The SQ refuses more SQEs than it has, and frees them once submitted.
func TestSQFull(t *testing.T) {
	r := newRing(t, Config{Entries: 2})
	for range 2 {
		sqe(t, r).PrepNop()
	}
	if r.GetSQE() != nil || r.SQSpace() != 0 {
		t.Fatalf("SQ of 2 gave a third SQE (space %d)", r.SQSpace())
	}
	if n, err := r.Submit(); n != 2 || err != nil {
		t.Fatalf("Submit = %d, %v", n, err)
	}
	if r.GetSQE() == nil {
		t.Fatal("no SQE after submit")
	}
	if n, err := r.Submit(); n != 1 || err != nil {
		t.Fatalf("Submit = %d, %v", n, err)
	}
	reap(t, r, 3)
}

func TestSubmitNothing(t *testing.T) {
	r := newRing(t, Config{Entries: 2})
	if n, err := r.Submit(); n != 0 || err != nil {
		t.Fatalf("Submit with nothing = %d, %v", n, err)
	}
	if n, err := r.SubmitAndWait(0); n != 0 || err != nil {
		t.Fatalf("SubmitAndWait(0) = %d, %v", n, err)
	}
}

// SubmitAndWaitTimeout with EXT_ARG and with the internal TIMEOUT SQE.
func TestSubmitAndWaitTimeout(t *testing.T) {
	for _, mode := range []struct {
		name       string
		noExtArg   bool
		requireCap Cap
	}{{"ext-arg", false, CapExtArg}, {"timeout-sqe", true, 0}} {
		t.Run(mode.name, func(t *testing.T) {
			if mode.requireCap != 0 {
				requireCap(t, mode.requireCap)
			}
			r := newRing(t, Config{Entries: 4})
			r.testNoExtArg = mode.noExtArg
			var dst [8]*CQE

			// Nothing in flight: the wait ends by timeout, which is no error.
			if n, err := r.SubmitAndWaitTimeout(1, 10*time.Millisecond); n != 0 || err != nil {
				t.Fatalf("empty wait = %d, %v", n, err)
			}
			if k := r.PeekBatch(dst[:]); k != 0 {
				t.Fatalf("PeekBatch after timeout returned %d CQEs: %+v", k, *dst[0])
			}
			if r.CQReady() != 0 {
				t.Fatalf("internal CQE not hidden: CQReady %d", r.CQReady())
			}

			// One NOP: the wait returns it; the submitted count excludes the
			// internal SQE; only the NOP is returned.
			s := sqe(t, r)
			s.PrepNop()
			s.SetUserData(42)
			n, err := r.SubmitAndWaitTimeout(1, reapWait)
			if n != 1 || err != nil {
				t.Fatalf("wait for NOP = %d, %v", n, err)
			}
			got := reap(t, r, 1)
			if got[0].UserData != 42 {
				t.Fatalf("got %+v", got)
			}
			quiet(t, r)

			// Waiting for 2 when 1 comes still ends at the timeout.
			s = sqe(t, r)
			s.PrepNop()
			s.SetUserData(43)
			if _, err := r.SubmitAndWaitTimeout(2, 10*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if got := reap(t, r, 1); got[0].UserData != 43 {
				t.Fatalf("got %+v", got)
			}
			quiet(t, r)

			// Zero duration and zero count do not wait.
			if n, err := r.SubmitAndWaitTimeout(1, 0); n != 0 || err != nil {
				t.Fatalf("d=0: %d, %v", n, err)
			}
			if n, err := r.SubmitAndWaitTimeout(0, time.Hour); n != 0 || err != nil {
				t.Fatalf("n=0: %d, %v", n, err)
			}
		})
	}
}

// The internal TIMEOUT SQE still works when the SQ is full of the caller's
// SQEs: they are submitted first to make room.
func TestWaitTimeoutSQEWithFullSQ(t *testing.T) {
	r := newRing(t, Config{Entries: 2})
	r.testNoExtArg = true
	for i := range 2 {
		s := sqe(t, r)
		s.PrepNop()
		s.SetUserData(uint64(i))
	}
	n, err := r.SubmitAndWaitTimeout(2, reapWait)
	if n != 2 || err != nil {
		t.Fatalf("SubmitAndWaitTimeout = %d, %v", n, err)
	}
	got := reap(t, r, 2)
	if got[0].UserData != 0 || got[1].UserData != 1 {
		t.Fatalf("got %+v", got)
	}
}

// A CQ smaller than the completions in flight overflows; with FEAT_NODROP
// the kernel keeps the extra CQEs and we flush them: none is lost and the
// order holds.
func TestCQOverflow(t *testing.T) {
	requireCap(t, CapNoDrop)
	r := newRing(t, Config{Entries: 4, CQEntries: 4})
	const total = 12
	for i := 0; i < total; {
		for range 4 {
			s := sqe(t, r)
			s.PrepNop()
			s.SetUserData(uint64(i))
			i++
		}
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
	}
	if !r.CQOverflowed() {
		t.Fatal("CQOverflowed false after 12 completions into a CQ of 4")
	}
	got := reap(t, r, total)
	for i, c := range got {
		if c.UserData != uint64(i) || c.Res != 0 {
			t.Fatalf("CQE %d = %+v", i, c)
		}
	}
	if r.CQOverflowed() || r.CQDropped() != 0 {
		t.Fatalf("after draining: overflowed %v dropped %d", r.CQOverflowed(), r.CQDropped())
	}
	quiet(t, r)
}

// CQAdvance beyond what is ready is clamped, so the head never passes the tail.
func TestCQAdvanceClamped(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	sqe(t, r).PrepNop()
	if _, err := r.SubmitAndWait(1); err != nil {
		t.Fatal(err)
	}
	r.CQAdvance(100)
	if r.CQReady() != 0 {
		t.Fatalf("CQReady = %d", r.CQReady())
	}
	s := sqe(t, r)
	s.PrepNop()
	s.SetUserData(5)
	if got := reap(t, r, 1); got[0].UserData != 5 {
		t.Fatalf("got %+v", got)
	}
}

// A SINGLE_ISSUER|DEFER_TASKRUN ring driven from another OS thread gets
// ErrWrongThread (EEXIST) at once, never a hang; its owner can go on.
func TestWrongThread(t *testing.T) {
	requireCap(t, CapSingleIssuer|CapDeferTaskrun)
	r := newRing(t, Config{Entries: 4, Require: SetupSingleIssuer | SetupDeferTaskrun})
	errs := make(chan error, 3)
	go func() {
		runtime.LockOSThread() // a thread other than the test's, which is locked
		defer runtime.UnlockOSThread()
		s := r.GetSQE()
		s.PrepNop()
		s.SetUserData(9)
		_, err := r.Submit()
		errs <- err
		_, err = r.SubmitAndWaitTimeout(1, time.Hour)
		errs <- err
		_, err = r.SubmitAndWait(1)
		errs <- err
	}()
	for range 3 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrWrongThread) || !errors.Is(err, unix.EEXIST) {
				t.Fatalf("from another thread: %v, want ErrWrongThread/EEXIST", err)
			}
		case <-time.After(reapWait):
			t.Fatal("io_uring_enter from another thread hung")
		}
	}
	// The owner submits the NOP the other thread prepared.
	if got := reap(t, r, 1); got[0].UserData != 9 {
		t.Fatalf("got %+v", got)
	}
}

func TestErrno(t *testing.T) {
	if Errno(0) != nil || Errno(5) != nil {
		t.Fatal("non-negative result is an error")
	}
	if err := Errno(-int32(unix.ECANCELED)); err != unix.ECANCELED {
		t.Fatalf("Errno(-ECANCELED) = %v", err)
	}
}
