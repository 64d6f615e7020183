//go:build linux

package ring

import (
	"bytes"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Data's doc: "the bytes a receive CQE delivered into its provided buffer,
// or nil if the CQE carries no buffer of this ring or no data". A bundle CQE
// whose data spans several buffers carries a buffer of this ring and data.
func TestBundleDataSpansBuffers(t *testing.T) {
	requireCap(t, CapRecvBundle)
	r := newRing(t, Config{Entries: 4})
	b, err := r.NewBufRing(5, 8, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	sent := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ++")
	write(t, fds[0], sent)
	q := sqe(t, r)
	q.PrepRecvBundle(fds[1], 5, 0)
	q.SetUserData(1)
	c := reap(t, r, 1)[0]
	if c.Res != int32(len(sent)) || !c.HasBuffer() {
		t.Fatalf("bundle CQE %+v", c)
	}
	if got := b.Data(&c); !bytes.Equal(got, sent) {
		t.Fatalf("Data of a %d-byte bundle CQE (buffer %d, 16-byte buffers) = %q (len %d), want the %d bytes received", c.Res, c.BufID(), got, len(got), len(sent))
	}
}

// Incremental ring + limited bundle: Data is documented to track where in
// the buffer each CQE's data starts ("call it once per CQE, in CQE order").
// A CQE that continues from one buffer into the next makes it lose bytes
// and then return the wrong bytes for the following CQEs.
func TestIncrementalBundleDataBytes(t *testing.T) {
	requireCap(t, CapRecvLimit)
	requireCap(t, CapIncrementalBuf)
	requireCap(t, CapRecvBundle)
	r := newRing(t, Config{Entries: 4})
	const size, limit = 64, 40
	b, err := r.NewBufRing(8, 8, size, PbufRingInc)
	if err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	sent := make([]byte, 200)
	for i := range sent {
		sent[i] = byte(i)
	}
	write(t, fds[0], sent)
	q := sqe(t, r)
	q.PrepRecvBundle(fds[1], 8, 0)
	q.LimitRecv(limit)
	q.SetUserData(1)
	var viaData []byte
	got := 0
	for i := 0; got < len(sent) && i < 20; i++ {
		c := reap(t, r, 1)[0]
		if c.Res <= 0 || !c.HasBuffer() {
			t.Fatalf("CQE %+v (%v)", c, Errno(c.Res))
		}
		got += int(c.Res)
		d := b.Data(&c)
		if len(d) != int(c.Res) {
			t.Errorf("CQE %d: buffer %d res %d: Data returned %d bytes", i, c.BufID(), c.Res, len(d))
		}
		viaData = append(viaData, d...)
	}
	if !bytes.Equal(viaData, sent) {
		t.Fatalf("bytes via Data (%d) != bytes sent (%d):\n got %v\nwant %v", len(viaData), len(sent), viaData, sent)
	}
}

var _ = unix.EINVAL

// BufRing.Close from a thread other than the SINGLE_ISSUER ring's owner:
// the unregister fails (the kernel answers EEXIST, the package's
// ErrWrongThread case), yet Close marks the ring closed and unmaps the
// slab. The kernel keeps the group registered and keeps writing received
// data at the old slab addresses, which now belong to whoever maps there
// next.
func TestBufRingCloseKeepsSlabAfterFailedUnregister(t *testing.T) {
	requireCap(t, CapMultishotRecv)
	r := newRing(t, Config{Entries: 4})
	if r.SetupFlags()&SetupSingleIssuer == 0 {
		t.Skip("ring without SINGLE_ISSUER")
	}
	const size = 4096
	b, err := r.NewBufRing(3, 1, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	slab := unsafe.Pointer(&b.Buf(0)[0])
	fds := socketpair(t)
	armMultishot(t, r, fds[1], 3, 1)

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // a thread other than the ring's
		defer runtime.UnlockOSThread()
		errc <- b.Close()
	}()
	cerr := <-errc
	t.Logf("BufRing.Close from another thread: %v", cerr)
	if cerr == nil {
		t.Skip("unregister from another thread succeeded on this kernel")
	}
	// Someone else maps memory where the slab was.
	other, err := unix.MmapPtr(-1, 0, slab, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE)
	if err != nil {
		// Close kept the slab: the kernel's writes land in memory the
		// BufRing still owns, and a retry on the right thread works.
		write(t, fds[0], []byte("kernel wrote here"))
		c := reap(t, r, 1)[0]
		if !bytes.Equal(b.Data(&c), []byte("kernel wrote here")) {
			t.Fatalf("CQE %+v, data %q", c, b.Data(&c))
		}
		if err := b.Close(); err != nil {
			t.Fatalf("Close on the ring's thread: %v", err)
		}
		return
	}
	defer unix.MunmapPtr(other, size)
	victim := unsafe.Slice((*byte)(other), size)
	write(t, fds[0], []byte("kernel wrote here"))
	c := reap(t, r, 1)[0]
	t.Logf("recv CQE after the failed Close: %+v (%v)", c, Errno(c.Res))
	if bytes.HasPrefix(victim, []byte("kernel wrote here")) {
		t.Fatalf("after BufRing.Close returned %v, the kernel wrote received data into memory mapped afterwards at the old slab address", cerr)
	}
	if c.Res > 0 {
		t.Fatalf("after BufRing.Close returned %v, the kernel still delivered %d bytes into the unmapped slab", cerr, c.Res)
	}
}

// Fix check: a bundle over buffers recycled out of order is walked in ring
// order by Each.
func TestBundleEachRingOrder(t *testing.T) {
	requireCap(t, CapRecvBundle)
	r := newRing(t, Config{Entries: 4})
	b, err := r.NewBufRing(4, 4, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	for i := 0; i < 2; i++ { // take ids 0 and 1
		write(t, fds[0], []byte("x"))
		q := sqe(t, r)
		q.PrepRecvSelect(fds[1], 4, 0)
		c := reap(t, r, 1)[0]
		if c.Res != 1 || c.BufID() != uint16(i) {
			t.Fatalf("CQE %+v", c)
		}
	}
	b.Recycle(1)
	b.Recycle(0)
	b.Publish() // ring order now 2, 3, 1, 0
	sent := []byte("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD")
	write(t, fds[0], sent)
	q := sqe(t, r)
	q.PrepRecvBundle(fds[1], 4, 0)
	c := reap(t, r, 1)[0]
	if c.Res != 64 || c.BufID() != 2 {
		t.Fatalf("bundle CQE %+v", c)
	}
	var got []byte
	var ids []uint16
	b.Each(&c, func(id uint16, d []byte) { ids = append(ids, id); got = append(got, d...) })
	if !bytes.Equal(got, sent) || len(ids) != 4 || ids[2] != 1 || ids[3] != 0 {
		t.Fatalf("Each: ids %v data %q", ids, got)
	}
}
