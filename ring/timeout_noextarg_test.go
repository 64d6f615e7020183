//go:build linux

package ring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Without EXT_ARG, SubmitAndWaitTimeout(n>=2, d) must return by about d even
// when nothing else completes. The internal TIMEOUT may fire before the
// kernel samples cq_timeouts for the wait; then only its own CQE (one) is
// ready and the wait sits for n-1 more completions.
func TestNoExtArgShortTimeoutManyWanted(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	r.testNoExtArg = true
	fds := socketpair(t)
	buf := heapBuf(16)
	arm := func() {
		s := sqe(t, r)
		s.PrepRecv(fds[1], buf, 0)
		s.SetUserData(7)
	}
	arm()
	var dst [8]*CQE
	worst := time.Duration(0)
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
		d := time.Duration(1+i%50) * time.Microsecond
		// Nothing else completes unless this rescue writes a byte: a wait
		// that needs it did not end at d.
		rescue := time.AfterFunc(2*time.Second, func() { unix.Write(fds[0], []byte{1}) })
		start := time.Now()
		if _, err := r.SubmitAndWaitTimeout(2, d); err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		rescued := !rescue.Stop()
		worst = max(worst, el)
		for {
			k := r.PeekBatch(dst[:])
			if k == 0 {
				break
			}
			for _, c := range dst[:k] {
				if c.UserData == 7 {
					arm()
				}
			}
			r.CQAdvance(uint32(k))
		}
		if rescued {
			t.Fatalf("iteration %d: SubmitAndWaitTimeout(2, %v) took %v (rescued by a completion: %v)", i, d, el, rescued)
		}
	}
	t.Logf("worst wait %v", worst)
}

// Without SUBMIT_ALL the kernel stops submitting at an SQE that fails
// init; SubmitAndWaitTimeout must still report the caller's SQEs consumed
// (not one less for an internal TIMEOUT SQE the kernel did not take).
func TestNoExtArgPartialSubmitCount(t *testing.T) {
	r := newRing(t, Config{Entries: 8, Disable: SetupSubmitAll})
	r.testNoExtArg = true
	for i, op := range []uint8{OpNop, 0xfe, OpNop} {
		s := sqe(t, r)
		s.prepRW(op, -1, 0, 0, 0)
		s.SetUserData(uint64(i + 1))
	}
	n, err := r.SubmitAndWaitTimeout(1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	left := r.SQReady()
	// The NOP and the bad SQE were consumed; the rest (the third NOP and
	// maybe the internal TIMEOUT) wait in the SQ.
	if want := 2; n != want {
		t.Fatalf("SubmitAndWaitTimeout = %d caller SQEs consumed, want %d (SQ still holds %d)", n, want, left)
	}
}
