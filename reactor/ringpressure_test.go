//go:build linux

package reactor

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/ring"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// TestRingQueuesUnderPressure runs the echo stream test on rings far too
// small for the load: an 8-entry SQ, so one iteration prepares more SQEs
// (recvs, sends, cancels, accepts) than the SQ holds and getSQE submits
// inline, and a 16-entry CQ, so one enter completes more ops than the CQ
// holds. 256 conns stream 256 KiB each at once through 512-byte buffers
// (many completions per iteration); then one task per loop writes a
// message to each of the loop's 64 conns, so one flush prepares 64 sends
// for an 8-entry SQ, whose completions then overrun the 16-entry CQ. Every
// byte must come back in order (echoStreams compares each stream, the
// broadcast is compared too), nothing may hang, and the test checks that
// both pressures really happened. What keeps a full CQ correct is the
// kernel: with IORING_FEAT_NODROP (required by the reactor) completions
// that find the CQ full wait on its overflow list, in order, and are
// flushed as the loop drains; the loop keeps draining while the kernel
// reports overflow (backend_uring.go, wait).
func TestRingQueuesUnderPressure(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	const conns, size = 256, 256 << 10
	raiseNoFile(t, 2*conns+512)
	legs := []struct {
		name string
		mask ring.Cap
	}{
		{"uring", 0},
		{"uring-5.7", kernelGenerations[0].mask},
	}
	for _, leg := range legs {
		t.Run(leg.name, func(t *testing.T) {
			var mu sync.Mutex
			byLoop := map[*Loop][]*Conn{}
			h := echoHandler()
			h.Open = func(c *Conn) {
				mu.Lock()
				byLoop[c.Loop()] = append(byLoop[c.Loop()], c)
				mu.Unlock()
			}
			h.Close = func(c *Conn, err error) {
				mu.Lock()
				defer mu.Unlock()
				list := byLoop[c.Loop()]
				for i, x := range list {
					if x == c {
						byLoop[c.Loop()] = append(list[:i], list[i+1:]...)
						break
					}
				}
			}
			s := start(t, BackendUring, h, withFeatureMask(leg.mask),
				withRingSizes(8, 16), WithBufferRing(512, 64), WithReadBufferSize(512))
			echoStreams(t, s, conns, size)
			reactortest.WaitUntil(t, 10*time.Second, "stream conns closed", func() bool { return s.NumConns() == 0 })
			broadcast(t, s, &mu, byLoop, 2*64)
			var sqFull, cqOverflow int
			var sq, cq uint32
			soakOnLoops(t, s, func(l *Loop) {
				ub := l.b.(*uringBackend)
				sqFull += ub.nSQFull
				cqOverflow += ub.nCQOverflow
				sq, cq = ub.r.SQEntries(), ub.r.CQEntries()
			})
			t.Logf("%s: rings %d SQ / %d CQ entries; SQ full %d times, CQ overflowed in %d drains", leg.name, sq, cq, sqFull, cqOverflow)
			if sq != 8 || cq != 16 {
				t.Fatalf("ring sizes %d/%d, want 8/16", sq, cq)
			}
			if sqFull == 0 {
				t.Error("the SQ never filled: the test did not force the inline submit")
			}
			if cqOverflow == 0 {
				t.Error("the CQ never overflowed: the test did not force the overflow list")
			}
		})
	}
}

// broadcast dials n clients to s, then writes a message to every conn of
// each loop from one task on that loop (so one flush carries a send per
// conn), and checks that each client gets exactly its message.
func broadcast(t *testing.T, s *Server, mu *sync.Mutex, byLoop map[*Loop][]*Conn, n int) {
	t.Helper()
	clients := make([]net.Conn, n)
	for i := range clients {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		clients[i] = c
	}
	reactortest.WaitUntil(t, 10*time.Second, "conns open", func() bool { return s.NumConns() == n })
	// The message names the client by its address as the server sees it.
	msg := func(addr string) []byte { return bytes.Repeat([]byte(addr+";"), 100) }
	for _, l := range s.Loops() {
		done := make(chan struct{})
		l.Execute(func() {
			defer close(done)
			mu.Lock()
			list := append([]*Conn(nil), byLoop[l]...)
			mu.Unlock()
			for _, c := range list {
				c.Write(msg(c.RemoteAddr().String()))
			}
		})
		<-done
	}
	for _, c := range clients {
		want := msg(c.LocalAddr().String())
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("broadcast read: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("broadcast: got %.40q..., want %.40q...", got, want)
		}
	}
}
