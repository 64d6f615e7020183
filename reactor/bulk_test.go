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

func skipWithoutMultishotRecv(t *testing.T) {
	t.Helper()
	f, err := ring.Detect()
	if err != nil || !f.Has(ring.CapMultishotRecv|ring.CapBufRing) {
		t.Skip("kernel lacks multishot recv with a buffer ring (6.0): no bulk reads, every read is single-shot")
	}
}

// bulkStats reads the loop's bulk-read counters: reads, and moves into or
// out of bulk reads.
func bulkStats(t *testing.T, s *Server) (reads, moves int) {
	soakOnLoops(t, s, func(l *Loop) {
		ub := l.b.(*uringBackend)
		reads, moves = ub.nBulk, ub.nMoves
	})
	return
}

// Many conns with large messages in flight over a small main ring: the
// ring runs dry while conns move to bulk reads (a conn's multishot may end
// with -ENOBUFS right after its move), and every byte is echoed in order.
func TestBulkReadsManyConns(t *testing.T) {
	skipWithoutMultishotRecv(t)
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
	reads, moves := bulkStats(t, s)
	if reads == 0 || moves < conns {
		t.Fatalf("%d bulk reads, %d moves for %d conns: the conns did not move to bulk reads", reads, moves, conns)
	}
	t.Logf("%d bulk reads, %d moves, largest OnData %d B", reads, moves, largest.Load())
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

// Conns that read large messages move to bulk reads and back once their
// reads are small again, with every byte echoed in order: sixteen conns at
// once, each moving in, out and in again.
func TestBulkReadsMoveBack(t *testing.T) {
	skipWithoutMultishotRecv(t)
	var largest atomic.Int64
	s := start(t, BackendUring, maxEcho(&largest), WithLoops(1))
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
	reads, moves := bulkStats(t, s)
	if moves < 3*conns {
		t.Fatalf("%d moves into and out of bulk reads (%d reads) for %d conns; want at least %d", moves, reads, conns, 3*conns)
	}
	t.Logf("%d bulk reads, %d moves, largest OnData %d B", reads, moves, largest.Load())
}

// A slow reader of a conn on bulk reads: every byte echoed, OnData never
// runs above the high-water mark, and the queue exceeds it by at most what
// one bulk read and the multishot recv cancelled by the move can bring (the
// default main ring alone holds 4 MiB: measured before bulk reads and
// capped recvs, this test's queue peaked at 3.3-4.1 MiB).
func TestBulkReadsSlowReader(t *testing.T) {
	skipWithoutMultishotRecv(t)
	const high, low = 64 << 10, 16 << 10
	s, _, after, _ := slowReaderEcho(t, BackendUring, high, low, 8<<20, WithLoops(1))
	reads, _ := bulkStats(t, s)
	if reads == 0 {
		t.Fatal("the conn never read in bulk: the test proves nothing")
	}
	bound := int64(high + bulkBufSize + 2*mainRecvMax)
	if after > bound {
		t.Fatalf("queue reached %d bytes, above %d", after, bound)
	}
	t.Logf("%d bulk reads, queue peaked at %d B", reads, after)
}
