//go:build linux

package ring

import (
	"testing"

	"golang.org/x/sys/unix"
)

var ecanceled = -int32(unix.ECANCELED)

// armRecvs submits one pending recv per user data on fd.
func armRecvs(t *testing.T, r *Ring, fd int, uds ...uint64) {
	t.Helper()
	for _, ud := range uds {
		q := sqe(t, r)
		q.PrepRecv(fd, heapBuf(16), 0)
		q.SetUserData(ud)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	quiet(t, r)
}

func TestCancelByUserData(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	fds := socketpair(t)
	armRecvs(t, r, fds[1], 1, 2)
	q := sqe(t, r)
	q.PrepCancel(1, 0)
	q.SetUserData(10)
	got := byUD(t, reap(t, r, 2))
	wantRes(t, "cancel", got[10], 0)
	wantRes(t, "cancelled recv", got[1], ecanceled)
	// Nothing left to cancel under that user data.
	q = sqe(t, r)
	q.PrepCancel(1, 0)
	q.SetUserData(11)
	wantRes(t, "cancel of nothing", reap(t, r, 1)[0], -int32(unix.ENOENT))
	// The other recv is untouched and still gets data.
	write(t, fds[0], []byte("abc"))
	wantRes(t, "surviving recv", reap(t, r, 1)[0], 3)
}

func TestCancelAllByUserData(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	fds := socketpair(t)
	armRecvs(t, r, fds[1], 5, 5, 5)
	q := sqe(t, r)
	q.PrepCancel(5, CancelAll)
	q.SetUserData(10)
	got := reap(t, r, 4)
	n := 0
	for _, c := range got {
		switch c.UserData {
		case 10:
			wantRes(t, "cancel all", c, 3)
		case 5:
			wantRes(t, "cancelled recv", c, ecanceled)
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d recvs cancelled: %+v", n, got)
	}
}

func TestCancelFd(t *testing.T) {
	requireCap(t, CapCancelFd)
	r := newRing(t, Config{Entries: 8})
	fds := socketpair(t)
	other := socketpair(t)
	armRecvs(t, r, fds[1], 1, 2)
	armRecvs(t, r, other[1], 3)
	q := sqe(t, r)
	q.PrepCancelFd(fds[1], CancelAll)
	q.SetUserData(10)
	got := byUD(t, reap(t, r, 3))
	wantRes(t, "cancel fd all", got[10], 2)
	wantRes(t, "recv 1", got[1], ecanceled)
	wantRes(t, "recv 2", got[2], ecanceled)
	// Without CancelAll, only the first match.
	armRecvs(t, r, fds[1], 4, 5)
	q = sqe(t, r)
	q.PrepCancelFd(fds[1], 0)
	q.SetUserData(11)
	got = byUD(t, reap(t, r, 2))
	wantRes(t, "cancel fd", got[11], 0)
	if len(got) != 2 {
		t.Fatalf("got %+v", got)
	}
	// The recv on the other fd still works.
	write(t, other[0], []byte("z"))
	if c := reap(t, r, 1)[0]; c.UserData != 3 || c.Res != 1 {
		t.Fatalf("recv on other fd: %+v", c)
	}
}

// Shutting a socket down completes its pending recv with 0 and the peer
// sees FIN (a plain close would do neither).
func TestShutdownPendingRecv(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	c, s := tcpPair(t)
	armRecvs(t, r, s, 1)
	q := sqe(t, r)
	q.PrepShutdown(s, unix.SHUT_RDWR)
	q.SetUserData(2)
	got := byUD(t, reap(t, r, 2))
	wantRes(t, "shutdown", got[2], 0)
	wantRes(t, "recv ended by shutdown", got[1], 0)
	buf := make([]byte, 8)
	if n, err := unix.Read(c, buf); n != 0 || err != nil {
		t.Fatalf("peer read = %d, %v; want EOF (FIN)", n, err)
	}
}
