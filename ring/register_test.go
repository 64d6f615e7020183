//go:build linux

package ring

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// Accept into an allocated registered slot, recv through the fixed file,
// update a slot, close a slot.
func TestRegisteredFiles(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	if err := r.RegisterFilesSparse(0); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("RegisterFilesSparse(0) = %v", err)
	}
	if err := r.RegisterFilesSparse(4); err != nil {
		t.Fatal(err)
	}
	ln, port := listener(t)
	q := sqe(t, r)
	q.PrepAcceptDirect(ln, FileIndexAlloc, 0)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	cl := dial(t, port)
	a := reap(t, r, 1)[0]
	if a.Res < 0 || a.Res >= 4 {
		t.Fatalf("direct accept: %+v (%v)", a, Errno(a.Res))
	}
	slot := a.Res
	write(t, cl, []byte("fixed"))
	buf := heapBuf(8)
	q = sqe(t, r)
	q.PrepRecv(int(slot), buf, 0)
	q.SetFlags(SQEFixedFile)
	wantRes(t, "recv on fixed file", reap(t, r, 1)[0], 5)
	if string(buf[:5]) != "fixed" {
		t.Fatalf("got %q", buf)
	}

	// UpdateFiles installs a socketpair end in slot 3.
	fds := socketpair(t)
	if err := r.UpdateFiles(3, []int32{int32(fds[1])}); err != nil {
		t.Fatal(err)
	}
	write(t, fds[0], []byte("upd"))
	q = sqe(t, r)
	q.PrepRecv(3, buf, 0)
	q.SetFlags(SQEFixedFile)
	wantRes(t, "recv on updated slot", reap(t, r, 1)[0], 3)

	q = sqe(t, r)
	q.PrepCloseDirect(uint32(slot))
	wantRes(t, "close direct", reap(t, r, 1)[0], 0)
	q = sqe(t, r)
	q.PrepRecv(int(slot), buf, 0)
	q.SetFlags(SQEFixedFile)
	wantRes(t, "recv on closed slot", reap(t, r, 1)[0], -int32(unix.EBADF))

	if err := r.UpdateFiles(0, nil); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("UpdateFiles(nil) = %v", err)
	}
	if err := r.UpdateFiles(10, []int32{-1}); err == nil {
		t.Fatal("UpdateFiles beyond the table succeeded")
	}
	if err := r.UnregisterFiles(); err != nil {
		t.Fatal(err)
	}
	if err := r.UnregisterFiles(); !errors.Is(err, unix.ENXIO) {
		t.Fatalf("second UnregisterFiles = %v, want ENXIO", err)
	}
}

// With the ring fd registered, io_uring_enter uses the index.
func TestRegisterRingFd(t *testing.T) {
	requireCap(t, CapRegisteredRing)
	r := newRing(t, Config{Entries: 4})
	if err := r.RegisterRingFd(); err != nil {
		t.Fatal(err)
	}
	if r.enterFlags&EnterRegisteredRing == 0 || r.enterFd != r.regIndex || r.regIndex < 0 {
		t.Fatalf("enter fd %d flags %#x", r.enterFd, r.enterFlags)
	}
	if err := r.RegisterRingFd(); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("second RegisterRingFd = %v", err)
	}
	for i := range 3 {
		q := sqe(t, r)
		q.PrepNop()
		q.SetUserData(uint64(i))
	}
	got := reap(t, r, 3)
	if got[2].UserData != 2 {
		t.Fatalf("got %+v", got)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close with registered ring fd: %v", err)
	}
}

func TestProbe(t *testing.T) {
	r := newRing(t, Config{Entries: 2})
	p, err := r.Probe()
	if err != nil {
		t.Skipf("kernel lacks IORING_REGISTER_PROBE (5.6): %v", err)
	}
	for _, op := range []uint8{OpNop, OpRecv, OpSend, OpAccept, OpAsyncCancel} {
		if !p.Supports(op) {
			t.Errorf("op %d not supported", op)
		}
	}
	if p.Supports(255) {
		t.Error("op 255 supported")
	}
	var nilProbe *Probe
	if nilProbe.Supports(OpNop) {
		t.Error("nil probe supports NOP")
	}
}
