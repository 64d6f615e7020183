//go:build linux

package ring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestTimeout(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	ts := heapT[unix.Timespec]()
	*ts = unix.NsecToTimespec(int64(time.Millisecond))
	q := sqe(t, r)
	q.PrepTimeout(ts, 0, 0)
	wantRes(t, "pure timeout", reap(t, r, 1)[0], -int32(unix.ETIME))

	// A count timeout completes with 0 once enough other CQEs were posted.
	long := heapT[unix.Timespec]()
	*long = unix.NsecToTimespec(int64(time.Hour))
	q = sqe(t, r)
	q.PrepTimeout(long, 1, 0)
	q.SetUserData(1)
	q = sqe(t, r)
	q.PrepNop()
	q.SetUserData(2)
	got := byUD(t, reap(t, r, 2))
	wantRes(t, "count timeout", got[1], 0)
}

// A linked timeout cancels a recv that gets no data.
func TestLinkTimeout(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	fds := socketpair(t)
	buf := heapBuf(16)
	ts := heapT[unix.Timespec]()
	*ts = unix.NsecToTimespec(int64(10 * time.Millisecond))
	q := sqe(t, r)
	q.PrepRecv(fds[1], buf, 0)
	q.SetFlags(SQEIOLink)
	q.SetUserData(1)
	q = sqe(t, r)
	q.PrepLinkTimeout(ts, 0)
	q.SetUserData(2)
	got := byUD(t, reap(t, r, 2))
	wantRes(t, "timed out recv", got[1], -int32(unix.ECANCELED))
	wantRes(t, "link timeout", got[2], -int32(unix.ETIME))
}
