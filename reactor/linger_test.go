//go:build linux

package reactor

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// A conn closed by its handler with output still going out keeps every byte of that output
// for the peer even when the peer goes on sending: input that arrives after the Close (a
// pipelined request the server will not answer) must not turn the close into a reset, which
// makes the peer's kernel drop what it has not read yet (and the server's kernel what it has
// not sent).
func TestCloseWithLateInputDeliversOutput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const size = 4 << 20
		resp := pattern(size, 7)
		closed := newCloseRecorder()
		h := HandlerFuncs{
			Data: func(c *Conn, in []byte) int {
				if !c.closeReq.Load() {
					c.Write(resp)
					c.Close()
				}
				return len(in)
			},
			Close: closed.record,
		}
		s := start(t, b, h)
		for round := range 3 {
			c := dial(t, s)
			c.SetReadBuffer(16 << 10) // the response cannot all be handed to the kernel before the client reads
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := c.Write([]byte("first")); err != nil {
				t.Fatal(err)
			}
			// More input while the response is still going out (the client reads nothing yet,
			// so most of it waits in the server's socket), and again after it went out.
			time.Sleep(20 * time.Millisecond)
			c.Write(bytes.Repeat([]byte("late"), 1000))
			time.Sleep(100 * time.Millisecond)
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, resp) {
				t.Fatalf("round %d: read %d of %d bytes, err %v", round, len(got), size, err)
			}
			c.Close()
			if err := closed.next(t); err != nil {
				t.Fatalf("round %d: OnClose(%v), want nil", round, err)
			}
		}
	})
}

// A peer that reads nothing of a closed conn's output, and sent input the conn did not read,
// keeps the fd lingering only up to lingerMax; then it is closed, and a Server.Close ends a
// linger at once. A conn without unread input does not linger.
func TestLingerBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		resp := pattern(256<<10, 3) // taken by the socket buffers, but not all sent
		closed := newCloseRecorder()
		h := HandlerFuncs{
			Data: func(c *Conn, in []byte) int {
				c.Write(resp)
				c.PauseReading()
				c.Loop().AfterFunc(50*time.Millisecond, func() { c.Close() })
				return len(in)
			},
			Close: closed.record,
		}
		s := start(t, b, h)
		for _, how := range []string{"no unread input", "deadline", "server close"} {
			base := reactortest.CountFDs()
			c := dial(t, s) // never reads
			c.SetReadBuffer(16 << 10)
			c.Write([]byte("x"))
			if how != "no unread input" {
				time.Sleep(10 * time.Millisecond)
				c.Write([]byte("unread by the server"))
			}
			if err := closed.next(t); err != nil {
				t.Fatalf("%s: OnClose(%v)", how, err)
			}
			reactortest.WaitUntil(t, 10*time.Second, "the conn released", func() bool { return s.NumConns() == 0 })
			if how == "no unread input" {
				reactortest.WaitUntil(t, 10*time.Second, "the fd closed", func() bool { return reactortest.CountFDs() == base+1 })
				c.Close()
				continue
			}
			// Released, and the fd still open: its output is not acknowledged.
			if n := reactortest.CountFDs(); n != base+2 {
				t.Fatalf("%s: %d fds after the release, want %d (the client's and the lingering one)", how, n, base+2)
			}
			if how == "server close" {
				s.Close()
			}
			reactortest.WaitUntil(t, lingerMax+5*time.Second, "the lingering fd closed", func() bool {
				return reactortest.CountFDs() <= base+1 // (Close closes the listeners too)
			})
			c.Close()
		}
	})
}
