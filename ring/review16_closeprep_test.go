//go:build linux

package ring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// An SQE prepared but never submitted must not run because of Close (the
// TestClosedRing contract: "prepared, never submitted"). Close's cancel pass
// entered io_uring_enter through submitGetEvents, which publishes the
// prepared SQEs first: here a send went out to the peer during Close.
func TestClosePreparedSQENotSubmitted(t *testing.T) {
	requireCap(t, CapMultishotRecv)
	r := newRing(t, Config{Entries: 8}) // default flags: DEFER_TASKRUN where offered
	if _, err := r.NewBufRing(4, 4, 64, 0); err != nil {
		t.Fatal(err)
	}
	a := socketpair(t)
	armMultishot(t, r, a[1], 4, 1) // in flight at Close
	b := socketpair(t)
	msg := heapBuf(4)
	copy(msg, "leak")
	s := sqe(t, r)
	s.PrepSend(b[0], msg, 0) // prepared, never submitted
	s.SetUserData(2)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	got := make([]byte, 16)
	if n, _, err := unix.Recvfrom(b[1], got, unix.MSG_DONTWAIT); n > 0 {
		t.Fatalf("the peer received %q: Close submitted an SQE the caller never submitted (flags %#x)", got[:n], r.setupFlags)
	} else if err != unix.EAGAIN {
		t.Fatalf("recv: %d, %v", n, err)
	}
}
