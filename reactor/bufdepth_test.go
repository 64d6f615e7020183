//go:build linux

package reactor

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/ring"
)

// A recv bundle whose buffers are adjacent in the slab reaches OnData as one
// slice, and the ring is kept shallow with every buffer accounted for.
func TestBundleRunDeliveredAsOneSlice(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	f, err := ring.Detect()
	if err != nil || !f.Has(ring.CapRecvBundle|ring.CapBufRing|ring.CapMultishotRecv) {
		t.Skip("kernel lacks recv bundles (IORING_RECVSEND_BUNDLE, 6.10)")
	}
	const bufSize, count = 1024, 256
	var maxIn atomic.Int64
	h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
		if n := int64(len(d)); n > maxIn.Load() {
			maxIn.Store(n)
		}
		c.Write(d)
		return len(d)
	}}
	s := start(t, BackendUring, h, WithLoops(1), WithBufferRing(bufSize, count))
	for range 64 { // quiet iterations: the ring's target decays from full
		soakOnLoops(t, s, func(*Loop) {})
	}
	c := dial(t, s)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	// Each 32 KiB write lands in the socket at once (one loopback segment);
	// the armed bundle recv takes it into 32 consecutive buffers. Twenty
	// rounds consume the initial ring (all buffers) twice over.
	for i := 0; i < 20; i++ {
		msg := pattern(32<<10, byte(i))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("round %d: echo differs", i)
		}
	}
	if maxIn.Load() <= bufSize {
		t.Fatalf("largest OnData %d bytes: bundles were delivered buffer by buffer (%d bytes)", maxIn.Load(), bufSize)
	}
	// Every buffer is either in the ring or on the free stack, and the ring
	// holds only what the traffic needs.
	var avail, free, bundle int
	soakOnLoops(t, s, func(l *Loop) { // the one loop
		ub := l.b.(*uringBackend)
		avail, free = ub.avail, len(ub.free)
		bundle = ub.nMultiBuffer
	})
	if avail+free != count {
		t.Fatalf("ring %d + free %d buffers, want %d: a buffer was lost", avail, free, count)
	}
	if avail >= count {
		t.Fatalf("ring still holds all %d buffers", count)
	}
	t.Logf("largest OnData %d B, multi-buffer bundles %d, idle ring depth %d of %d", maxIn.Load(), bundle, avail, count)
}
