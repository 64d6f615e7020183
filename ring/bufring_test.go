//go:build linux

package ring

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestBufRingRejects(t *testing.T) {
	requireCap(t, CapBufRing)
	r := newRing(t, Config{Entries: 2})
	for _, c := range []struct {
		count, size, flags uint32
	}{
		{0, 16, 0},      // zero count
		{3, 16, 0},      // not a power of two
		{65536, 16, 0},  // beyond 16-bit ids / kernel limit
		{4, 0, 0},       // zero-length buffers
		{4, 16, 1},      // IOU_PBUF_RING_MMAP: we own the memory
		{4, 16, 1 << 8}, // unknown flag
	} {
		b, err := r.NewBufRing(1, c.count, c.size, c.flags)
		if err == nil {
			b.Close()
			t.Fatalf("NewBufRing(count %d, size %d, flags %#x) succeeded", c.count, c.size, c.flags)
		}
		if !errors.Is(err, unix.EINVAL) {
			t.Fatalf("NewBufRing(%+v) = %v, want EINVAL", c, err)
		}
	}
}

func TestBufRingIDsAndLifecycle(t *testing.T) {
	requireCap(t, CapBufRing)
	r := newRing(t, Config{Entries: 2})
	b, err := r.NewBufRing(9, 8, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Group() != 9 || b.Count() != 8 || b.Size() != 100 {
		t.Fatalf("group %d count %d size %d", b.Group(), b.Count(), b.Size())
	}
	// Buffers are distinct, adjacent slices of the slab.
	b0, b7 := b.Buf(0), b.Buf(7)
	if len(b0) != 100 || cap(b0) != 100 || len(b7) != 100 ||
		uintptr(unsafe.Pointer(&b.Buf(1)[0]))-uintptr(unsafe.Pointer(&b0[0])) != 100 {
		t.Fatal("buffer layout")
	}
	if b.Buf(8) != nil {
		t.Fatal("Buf(8) of 8 buffers")
	}
	if err := b.Recycle(8); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Recycle(8) = %v, want EINVAL", err)
	}
	// The group is taken while registered.
	if dup, err := r.NewBufRing(9, 4, 16, 0); err == nil {
		dup.Close()
		t.Fatal("second ring for group 9 accepted")
	} else if !errors.Is(err, unix.EEXIST) {
		t.Fatalf("duplicate group: %v, want EEXIST", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if b.Buf(0) != nil || b.Recycle(0) != ErrClosed {
		t.Fatal("closed buffer ring still usable")
	}
	// Unregistered: the group can be registered again.
	b2, err := r.NewBufRing(9, 4, 16, 0)
	if err != nil {
		t.Fatalf("re-register group 9: %v", err)
	}
	b2.Close()
}

// Data rejects CQEs without a buffer of this ring.
func TestBufRingData(t *testing.T) {
	requireCap(t, CapBufRing)
	r := newRing(t, Config{Entries: 2})
	b, err := r.NewBufRing(10, 2, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []CQE{
		{Res: 4},                     // no buffer flag
		{Res: -1, Flags: CQEFBuffer}, // error
		{Res: 4, Flags: CQEFBuffer | 5<<CQEBufferShift}, // id out of range
		{Res: 17, Flags: CQEFBuffer},                    // longer than the whole ring
	} {
		if d := b.Data(&c); d != nil {
			t.Fatalf("Data(%+v) = %q", c, d)
		}
	}
	c := CQE{Res: 3, Flags: CQEFBuffer | 1<<CQEBufferShift}
	copy(b.Buf(1), "xyz")
	if d := b.Data(&c); string(d) != "xyz" {
		t.Fatalf("Data = %q", d)
	}
}

// Closing a ring with a multishot recv armed on a buffer ring cancels the
// recv before the buffers are unmapped; the peer can go on writing.
func TestCloseWithArmedRecv(t *testing.T) {
	requireCap(t, CapMultishotRecv)
	r, err := New(Config{Entries: 4, Disable: SetupSingleIssuer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewBufRing(11, 4, 64, 0); err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	q := sqe(t, r)
	q.PrepRecvMultishot(fds[1], 11, 0)
	q.SetFlags(SQEAsync) // punted to an io-wq worker
	q.SetUserData(1)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// No request is left: the bytes stay in the socket for a plain read.
	write(t, fds[0], make([]byte, 256))
	if n, _, err := unix.Recvfrom(fds[1], make([]byte, 512), unix.MSG_DONTWAIT); n != 256 || err != nil {
		t.Fatalf("read after Close: %d bytes, %v; a cancelled recv took the data", n, err)
	}
}

// Span reads a run of adjacent buffers as one slice, and never past the slab.
func TestBufRingSpan(t *testing.T) {
	requireCap(t, CapBufRing)
	r := newRing(t, Config{Entries: 2})
	b, err := r.NewBufRing(3, 4, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	copy(b.Buf(1), "one")
	copy(b.Buf(2), "two")
	s := b.Span(1, 200)
	if len(s) != 200 || &s[0] != &b.Buf(1)[0] || string(s[100:103]) != "two" {
		t.Fatalf("Span(1, 200): len %d, %q", len(s), s[100:103])
	}
	if got := b.Span(3, 100); len(got) != 100 {
		t.Fatalf("Span(3, 100) len %d, want the whole last buffer", len(got))
	}
	for _, c := range []struct {
		id uint16
		n  int
	}{{3, 101}, {0, 401}, {4, 1}, {0, -1}} {
		if got := b.Span(c.id, c.n); got != nil {
			t.Fatalf("Span(%d, %d) = %d bytes, want nil (outside the slab)", c.id, c.n, len(got))
		}
	}
	b.Close()
	if b.Span(0, 10) != nil {
		t.Fatal("Span after Close")
	}
}
