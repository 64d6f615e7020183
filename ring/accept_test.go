//go:build linux

package ring

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PrepAccept returns the connection fd and the peer address.
func TestAccept(t *testing.T) {
	r := newRing(t, Config{Entries: 2})
	ln, port := listener(t)
	addr, alen := heapT[unix.RawSockaddrAny](), heapT[uint32]()
	*alen = uint32(unsafe.Sizeof(*addr))
	q := sqe(t, r)
	q.PrepAccept(ln, addr, alen, unix.SOCK_CLOEXEC)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	c := dial(t, port)
	cqe := reap(t, r, 1)[0]
	if cqe.Res < 0 {
		t.Fatalf("accept: %v", Errno(cqe.Res))
	}
	defer unix.Close(int(cqe.Res))
	in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(addr))
	if in4.Family != unix.AF_INET || in4.Addr != [4]byte{127, 0, 0, 1} || *alen != uint32(unsafe.Sizeof(*in4)) {
		t.Fatalf("peer address %+v len %d", in4, *alen)
	}
	local, _ := unix.Getsockname(c)
	if p := (*[2]byte)(unsafe.Pointer(&in4.Port)); int(p[0])<<8|int(p[1]) != local.(*unix.SockaddrInet4).Port {
		t.Fatalf("peer port %v, client port %d", p, local.(*unix.SockaddrInet4).Port)
	}
	write(t, c, []byte("hi"))
	if got := readAll(t, int(cqe.Res), 2); string(got) != "hi" {
		t.Fatalf("accepted socket read %q", got)
	}
}

// One multishot accept takes several connections, each CQE with F_MORE.
func TestAcceptMultishot(t *testing.T) {
	requireCap(t, CapMultishotAccept)
	r := newRing(t, Config{Entries: 4})
	ln, port := listener(t)
	q := sqe(t, r)
	q.PrepAcceptMultishot(ln, nil, nil, unix.SOCK_CLOEXEC)
	q.SetUserData(1)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		dial(t, port)
		c := reap(t, r, 1)[0]
		if c.UserData != 1 || c.Res < 0 || !c.More() {
			t.Fatalf("accept %d: %+v (%v)", i, c, Errno(c.Res))
		}
		unix.Close(int(c.Res))
	}
	q = sqe(t, r)
	q.PrepCancel(1, 0)
	q.SetUserData(2)
	got := byUD(t, reap(t, r, 2))
	wantRes(t, "cancelled accept", got[1], -int32(unix.ECANCELED))
	if c := got[1]; c.More() {
		t.Fatal("cancelled multishot accept still has F_MORE")
	}
}

// PrepConnect on a socket created by PrepSocket.
func TestSocketConnect(t *testing.T) {
	r := newRing(t, Config{Entries: 2})
	requireOp(t, r, OpSocket)
	ln, port := listener(t)
	q := sqe(t, r)
	q.PrepSocket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0, 0)
	c := reap(t, r, 1)[0]
	if c.Res < 0 {
		t.Fatalf("socket: %v", Errno(c.Res))
	}
	fd := int(c.Res)
	defer unix.Close(fd)
	sa, salen := loopbackAddr(port)
	q = sqe(t, r)
	q.PrepConnect(fd, sa, salen)
	wantRes(t, "connect", reap(t, r, 1)[0], 0)
	a, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(a)
	write(t, fd, []byte("ok"))
	if got := readAll(t, a, 2); string(got) != "ok" {
		t.Fatalf("read %q", got)
	}
	// Connecting to a closed port fails with ECONNREFUSED in the CQE.
	ln2, port2 := listener(t)
	unix.Close(ln2)
	fd2, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd2)
	sa2, salen2 := loopbackAddr(port2)
	q = sqe(t, r)
	q.PrepConnect(fd2, sa2, salen2)
	wantRes(t, "connect to closed port", reap(t, r, 1)[0], -int32(unix.ECONNREFUSED))
}
