//go:build linux

package reactor

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// TestSoakBufferRingPressure: many conns (1,000 under RINGO_SOAK=1, 64
// otherwise) start together and stream pseudo-random bytes in bursts of
// random sizes through an echo server whose loops have four 512-byte
// provided buffers each (and 512-byte single-shot read buffers), so the
// buffer ring runs dry all the time and every recv completion carries at
// most 512 bytes (thousands of completions per loop iteration). Each
// client regenerates its stream to compare the echo byte for byte: no
// byte may be lost, duplicated or reordered. On the buffer-ring legs the
// test also proves the ring really ran out (ENOBUFS seen).
func TestSoakBufferRingPressure(t *testing.T) {
	conns, size := reactortest.N(64, 1000), reactortest.N(256<<10, 512<<10)
	reactortest.RaiseNoFile(t, uint64(2*conns+512))
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithBufferRing(512, 4), WithReadBufferSize(512))
		base := reactortest.Baseline()
		elapsed := echoStreams(t, s, conns, size)
		var enobufs, multi int
		var ringUsed bool
		if b == BackendUring {
			soakOnLoops(t, s, func(l *Loop) {
				ub := l.b.(*uringBackend)
				enobufs += ub.nENOBUFS
				multi += ub.nMultiBuffer
				ringUsed = ringUsed || ub.multiRecv
			})
		}
		// Each recv completion carries at most one 512-byte buffer (or a
		// bundle of them), so conns*size/512 is at least the buffers used.
		bufs := conns * size / 512
		t.Logf("%s: %d conns x %s echoed through 4 x 512 B buffers per loop in %v; ENOBUFS %d (%.1f per buffer of data), multi-buffer bundles %d",
			soakLeg(t), conns, reactortest.MiB(int64(size)), elapsed.Round(time.Millisecond), enobufs, float64(enobufs)/float64(bufs), multi)
		if ringUsed && enobufs == 0 {
			t.Fatal("the provided buffers never ran out: the test did not exhaust the ring")
		}
		soakBackToBaseAfter(t, s, base) // echoStreams closed the clients
	})
}

// echoStreams dials conns clients to the echo server s; all start at once
// (a gate) and each streams size pseudo-random bytes (ChaCha8, per-conn
// seed) in bursts of random sizes with random pauses, while a reader
// regenerates the stream and compares the echo byte for byte: any byte
// lost, duplicated or reordered fails t, naming the first differing range.
// It returns the time from the first dial to the last byte, having closed
// the clients.
func echoStreams(t *testing.T, s *Server, conns, size int) time.Duration {
	t.Helper()
	var ready, wg sync.WaitGroup
	gate := make(chan struct{})
	errs := make(chan error, 2*conns)
	start := time.Now()
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range conns {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		c.SetDeadline(time.Now().Add(5 * time.Minute))
		seed := [32]byte{byte(i), byte(i >> 8), 7}
		ready.Add(1)
		wg.Add(2)
		go func() { // writer: bursts of random sizes
			defer wg.Done()
			src := rand.NewChaCha8(seed)
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			buf := make([]byte, 64<<10)
			ready.Done()
			<-gate
			for sent := 0; sent < size; {
				n := min(1+rng.IntN(len(buf)), size-sent)
				src.Read(buf[:n])
				if _, err := c.Write(buf[:n]); err != nil {
					errs <- fmt.Errorf("conn %d write: %w", i, err)
					return
				}
				sent += n
				if rng.IntN(8) == 0 {
					time.Sleep(time.Duration(rng.IntN(1000)) * time.Microsecond)
				}
			}
		}()
		go func() { // reader: regenerate the stream and compare
			defer wg.Done()
			src := rand.NewChaCha8(seed)
			buf := make([]byte, 32<<10)
			want := make([]byte, 32<<10)
			for got := 0; got < size; {
				n, err := c.Read(buf)
				src.Read(want[:n])
				if !bytes.Equal(buf[:n], want[:n]) {
					errs <- fmt.Errorf("conn %d: echo differs within bytes %d..%d (lost, duplicated or reordered)", i, got, got+n)
					return
				}
				got += n
				if err != nil && !(err == io.EOF && got == size) {
					errs <- fmt.Errorf("conn %d read after %d of %d bytes: %w", i, got, size, err)
					return
				}
			}
		}()
	}
	ready.Wait()
	close(gate) // every conn starts at once
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return elapsed
}

// soakBackToBaseAfter waits until s has no conn, then checks resources.
func soakBackToBaseAfter(t *testing.T, s *Server, base reactortest.Base) {
	t.Helper()
	reactortest.WaitUntil(t, 30*time.Second, "all conns closed", func() bool { return s.NumConns() == 0 })
	reactortest.BackToBase(t, base, soakConnsRSSSlack)
}
