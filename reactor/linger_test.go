//go:build linux

package reactor

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ringo-io/ringo/netpoll"
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
				if !c.closeRequested() {
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
			// so most of it waits in the server's socket).
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
// linger at once.
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
		for _, how := range []string{"deadline", "server close"} {
			base := reactortest.CountFDs()
			c := dial(t, s) // never reads
			c.SetReadBuffer(16 << 10)
			c.Write([]byte("x"))
			time.Sleep(10 * time.Millisecond)
			c.Write([]byte("unread by the server"))
			if err := closed.next(t); err != nil {
				t.Fatalf("%s: OnClose(%v)", how, err)
			}
			reactortest.WaitUntil(t, 10*time.Second, "the conn released", func() bool { return s.NumConns() == 0 })
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

// shutWrite lingers exactly when the close could reset away output: input the conn did not
// read is waiting, or output has not been transmitted (the peer's window is full). Real
// sockets; each case on a fresh pair.
func TestLingerDecision(t *testing.T) {
	l := &Loop{}
	pair := func(t *testing.T, rcvbuf int) (*Conn, net.Conn) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cl, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		if rcvbuf > 0 {
			cl.SetReadBuffer(rcvbuf)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		f, err := sc.(*net.TCPConn).File() // a dup the test owns
		sc.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return &Conn{fd: int32(f.Fd()), peer: ipPort{kind: 4}}, cl
	}
	t.Run("nothing pending", func(t *testing.T) {
		c, cl := pair(t, 0)
		netpoll.Send(int(c.fd), []byte("response"))
		if _, err := io.ReadFull(cl, make([]byte, len("response"))); err != nil {
			t.Fatal(err)
		}
		if l.shutWrite(c) {
			t.Fatal("lingers with no unread input and all output transmitted")
		}
	})
	t.Run("unread input", func(t *testing.T) {
		c, cl := pair(t, 0)
		cl.Write([]byte("pipelined"))
		reactortest.WaitUntil(t, 10*time.Second, "the input arrived", func() bool {
			n, _ := netpoll.Unread(int(c.fd))
			return n > 0
		})
		if !l.shutWrite(c) {
			t.Fatal("does not linger with unread input")
		}
	})
	t.Run("untransmitted output", func(t *testing.T) {
		c, _ := pair(t, 4096) // the client reads nothing
		chunk := make([]byte, 64<<10)
		for range 1024 { // fill the socket until it refuses more
			if _, err := netpoll.Send(int(c.fd), chunk); err != nil {
				break
			}
		}
		if n, _ := netpoll.Unsent(int(c.fd)); n == 0 {
			t.Fatal("nothing untransmitted after filling the socket")
		}
		if !l.shutWrite(c) {
			t.Fatal("does not linger with output not transmitted")
		}
	})
}
