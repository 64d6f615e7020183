//go:build linux

package reactor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/ring"
)

func skipWithoutBigRing(t *testing.T) {
	t.Helper()
	skipWithoutBundles(t)
	f, err := ring.Detect()
	if err != nil || !f.Has(ring.CapIncrementalBuf|ring.CapRecvLimit) {
		t.Skip("kernel lacks incremental buffers (IOU_PBUF_RING_INC, 6.12) or a length cap on multishot recv")
	}
}

// bigStats reads the loop's big-ring counters.
func bigStats(t *testing.T, s *Server) (big, moves int, hasRing bool) {
	big, moves, _, hasRing = bigStatsAll(t, s)
	return
}

func bigStatsAll(t *testing.T, s *Server) (big, moves, dry int, hasRing bool) {
	soakOnLoops(t, s, func(l *Loop) {
		ub := l.b.(*uringBackend)
		big, moves, dry, hasRing = ub.nBig, ub.nMoves, ub.nBigENOBUFS, ub.big != nil
	})
	return
}

// More conns reading large messages at once than the big ring has buffers:
// the ring runs dry, conns go back to the main ring and move again, and
// every byte is echoed in order. A 1 MiB main ring makes a big ring of 4
// buffers, so 32 conns with 256 KiB messages in flight exhaust it.
func TestBigRingExhausted(t *testing.T) {
	skipWithoutBigRing(t)
	var largest atomic.Int64
	s := start(t, BackendUring, maxEcho(&largest), WithLoops(1), WithBufferRing(16<<10, 64))
	const conns, rounds, size = 32, 4, 256 << 10
	errs := make(chan error, conns)
	for i := range conns {
		c := dial(t, s)
		c.SetDeadline(time.Now().Add(60 * time.Second))
		go func() {
			for r := range rounds {
				if err := echoRound(c, pattern(size, byte(i*rounds+r))); err != nil {
					errs <- fmt.Errorf("conn %d round %d: %w", i, r, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	big, moves, dry, ok := bigStatsAll(t, s)
	if !ok || big == 0 {
		t.Fatalf("big ring present %v, %d CQEs from it", ok, big)
	}
	if dry == 0 {
		t.Fatal("the big ring never ran dry: the test proves nothing")
	}
	t.Logf("%d big-ring CQEs, %d moves, %d times dry", big, moves, dry)
}

// echoRound writes msg and reads its echo, byte for byte.
func echoRound(c net.Conn, msg []byte) error {
	errc := make(chan error, 1)
	go func() { _, err := c.Write(msg); errc <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if err := <-errc; err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return errors.New("echo differs")
	}
	return nil
}

// Conns that read large messages move to the big ring and back once their
// reads are small again, with every byte echoed in order. Sixteen conns at
// once make the kernel's fill of the shared buffers interleave conns and
// wrap the ring (a CQE running on into a non-adjacent buffer is gathered).
func TestBigRingLargeReads(t *testing.T) {
	skipWithoutBigRing(t)
	var largest atomic.Int64
	s := start(t, BackendUring, maxEcho(&largest), WithLoops(1))
	if _, _, ok := bigStats(t, s); !ok {
		t.Fatal("default buffer ring on a kernel with incremental buffers, but no big ring")
	}
	const conns = 16
	sizes := []int{64 << 10, 100<<10 + 7, 300<<10 + 13, 1 << 20}
	errs := make(chan error, conns)
	for i := range conns {
		c := dial(t, s)
		c.SetDeadline(time.Now().Add(60 * time.Second))
		go func() {
			seed := byte(i * 31)
			for phase := range 3 {
				if phase == 1 {
					// Small request/response reads: the conn moves back.
					for k := range smallRunMax + 8 {
						if err := echoRound(c, pattern(100, seed+byte(k))); err != nil {
							errs <- fmt.Errorf("conn %d small %d: %w", i, k, err)
							return
						}
					}
					continue
				}
				for k, n := range sizes {
					if err := echoRound(c, pattern(n, seed+byte(phase*8+k))); err != nil {
						errs <- fmt.Errorf("conn %d phase %d size %d: %w", i, phase, n, err)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	big, moves, dry, _ := bigStatsAll(t, s)
	if big == 0 {
		t.Fatal("no CQE came from the big ring")
	}
	// Each conn moved to the big ring, back, and to it again. Sixteen
	// conns can run the big ring dry: a conn it sends back to the main ring
	// (not a counted move) at the end of a large phase has no small-run move
	// back to make, so such returns count with the moves.
	if moves+dry < 3*conns {
		t.Fatalf("%d moves between the rings and %d returns for want of big buffers, for %d conns; want at least %d in all",
			moves, dry, conns, 3*conns)
	}
	t.Logf("%d big-ring CQEs, %d moves, %d returns (ring dry), largest OnData %d B", big, moves, dry, largest.Load())
}

// A slow reader of a conn on the big ring: every byte echoed, OnData never
// runs above the high-water mark, and the queue exceeds it by at most what
// the two rings can complete before the pause takes effect (the default
// main ring alone holds 4 MiB: measured before the big ring, this test's
// queue peaked at 3.3-4.1 MiB).
func TestBigRingSlowReader(t *testing.T) {
	skipWithoutBigRing(t)
	const high, low = 64 << 10, 16 << 10
	s, _, after, _ := slowReaderEcho(t, BackendUring, high, low, 8<<20, WithLoops(1))
	big, _, _ := bigStats(t, s)
	if big == 0 {
		t.Fatal("the conn never read from the big ring: the test proves nothing")
	}
	bound := int64(high + DefaultBufferSize*DefaultBufferCount + bigCountMax*bigBufSize)
	if after > bound {
		t.Fatalf("queue reached %d bytes, above %d", after, bound)
	}
	t.Logf("%d big-ring CQEs, queue peaked at %d B", big, after)
}
