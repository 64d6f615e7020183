//go:build linux

package reactor

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/ring"
)

// A recv bundle whose buffers are adjacent in the slab reaches OnData as one
// slice, and the ring is kept shallow with every buffer accounted for.
func TestBundleRunDeliveredAsOneSlice(t *testing.T) {
	skipWithoutBundles(t)
	const bufSize, count = 1024, 256
	var maxIn atomic.Int64
	h := maxEcho(&maxIn)
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

// A bundle whose buffers are scattered over the slab (several runs) and fit
// gatherMax reaches OnData as one slice, in order. Scattering comes from
// concurrent conns recycling buffers in mixed order, so the test runs
// rounds of concurrent echoes until the loop has gathered some (bounded by
// rounds and time), checking every echo byte for byte.
func TestBundleScatteredRunsGathered(t *testing.T) {
	skipWithoutBundles(t)
	// Messages below bulkMark, so the conns stay on the multishot recv.
	const bufSize, count, conns, size = 1024, 256, 16, 12 << 10
	var wholeMax atomic.Int64 // largest OnData
	h := maxEcho(&wholeMax)
	s := start(t, BackendUring, h, WithLoops(1), WithBufferRing(bufSize, count))
	cs := make([]io.ReadWriter, conns)
	for i := range cs {
		c := dial(t, s)
		c.SetDeadline(time.Now().Add(60 * time.Second))
		cs[i] = c
	}
	gathered := func() (n int) {
		soakOnLoops(t, s, func(l *Loop) { n = l.b.(*uringBackend).nGathered })
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	rounds := 0
	for ; rounds < 200 && time.Now().Before(deadline) && gathered() == 0; rounds++ {
		errs := make(chan error, conns)
		for i, c := range cs {
			go func() {
				msg := pattern(size, byte(rounds*conns+i))
				go c.Write(msg)
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, msg) {
					errs <- errors.New("echo differs")
					return
				}
				errs <- nil
			}()
		}
		for range conns {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", rounds, err)
			}
		}
	}
	n := gathered()
	if n == 0 {
		t.Fatalf("%d rounds of %d concurrent %d-byte echoes: no scattered bundle was gathered", rounds, conns, size)
	}
	t.Logf("gathered %d bundles in %d rounds; largest OnData %d B (buffers of %d B)", n, rounds, wholeMax.Load(), bufSize)
}

func skipWithoutBundles(t *testing.T) {
	t.Helper()
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	f, err := ring.Detect()
	if err != nil || !f.Has(ring.CapRecvBundle|ring.CapBufRing|ring.CapMultishotRecv) {
		t.Skip("kernel lacks recv bundles (IORING_RECVSEND_BUNDLE, 6.10)")
	}
}

// maxEcho echoes and records the largest OnData slice in largest.
func maxEcho(largest *atomic.Int64) Handler {
	return HandlerFuncs{Data: func(c *Conn, d []byte) int {
		if n := int64(len(d)); n > largest.Load() {
			largest.Store(n)
		}
		c.Write(d)
		return len(d)
	}}
}
