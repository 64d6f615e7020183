//go:build linux

package reactor

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitQueuedThenReset blocks (bounded) until fd's kernel receive queue holds n bytes and its TCP
// state is TCP_CLOSE (the peer's reset came). Loop only (it runs inside OnOpen, so that the
// loop has not armed a recv yet when both are there).
func waitQueuedThenReset(fd, n int) bool {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		q, _ := unix.IoctlGetInt(fd, unix.SIOCINQ)
		st, _ := unix.GetsockoptByte(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if q >= n && st == tcpClose {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// Input a handler left unconsumed when it paused reading is presented again when it
// resumes, before the peer's EOF (review13) and, as on epoll (which does not read while
// paused), before the peer's reset: the bytes came before it. On io_uring the multishot
// recv's final CQE (-ECONNRESET, read right after the input in the same pass) completes
// before the pause's cancel, and eof closes the conn at once with the error, dropping the
// kept input: OnData never sees it again.
// sendThenReset dials addr, sends data, lets loopback transmit it, then
// resets the conn (SO_LINGER 0).
func sendThenReset(t *testing.T, addr string, data []byte) {
	t.Helper()
	cl, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close() // RST
	if _, err := cl.Write(data); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // transmitted (loopback)
	cl.(*net.TCPConn).SetLinger(0)
}

func TestPausedResetKeepsUnconsumedInput(t *testing.T) {
	const total = 20 << 10
	forEachBackend(t, func(t *testing.T, b Backend) {
		var consumed atomic.Int64
		var ready atomic.Bool
		type result struct {
			consumed int64
			err      error
		}
		closed := make(chan result, 1)
		calls := 0
		h := HandlerFuncs{
			Open: func(c *Conn) {
				// Hold the loop until the bytes and the reset are both in the socket, so
				// that the recv armed after OnOpen reads them in one pass.
				ready.Store(waitQueuedThenReset(c.Fd(), total))
			},
			Data: func(c *Conn, d []byte) int {
				n := len(d)
				if calls++; calls == 1 {
					// e.g. one message answered, output to wait for before the next
					n = 100
					c.PauseReading()
					c.Loop().AfterFunc(100*time.Millisecond, func() { c.ResumeReading() })
				}
				consumed.Add(int64(n))
				return n
			},
			Close: func(c *Conn, err error) { closed <- result{consumed.Load(), err} },
		}
		s := start(t, b, h, WithLoops(1))
		sendThenReset(t, s.Addr().String(), pattern(total, 1))
		select {
		case r := <-closed:
			if !ready.Load() {
				t.Skip("the bytes and the reset did not both reach the server socket before OnOpen returned")
			}
			if r.consumed != total {
				t.Fatalf("OnClose(%v) with %d of the %d bytes received before the reset consumed: the input left when reading paused was dropped", r.err, r.consumed, total)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no OnClose")
		}
	})
}

// The same on a kernel without recv bundles (6.0 to 6.9, masked here): each provided buffer
// is a CQE, so the input after the one that paused reading is kept never shown, and the reset
// behind it dropped it: OnData never saw those bytes at all.
func TestPausedResetKeepsUnseenInputNoBundles(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	var mask = kernelGenerations[0].mask
	for _, g := range kernelGenerations {
		if g.name == "6.1" {
			mask = g.mask
		}
	}
	const total = 40 << 10
	var seen atomic.Int64
	var ready atomic.Bool
	closed := make(chan error, 1)
	calls := 0
	h := HandlerFuncs{
		Open: func(c *Conn) { ready.Store(waitQueuedThenReset(c.Fd(), total)) },
		Data: func(c *Conn, d []byte) int {
			seen.Add(int64(len(d)))
			if calls++; calls == 1 {
				c.PauseReading()
				c.Loop().AfterFunc(100*time.Millisecond, func() { c.ResumeReading() })
			}
			return len(d)
		},
		Close: func(c *Conn, err error) { closed <- err },
	}
	s := start(t, BackendUring, h, WithLoops(1), withFeatureMask(mask))
	sendThenReset(t, s.Addr().String(), pattern(total, 2))
	select {
	case err := <-closed:
		if !ready.Load() {
			t.Skip("the bytes and the reset did not both reach the server socket before OnOpen returned")
		}
		if n := seen.Load(); n != total {
			t.Fatalf("OnClose(%v) after OnData saw %d of the %d bytes received before the reset", err, n, total)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OnClose")
	}
}
