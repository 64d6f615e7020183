//go:build linux

package reactor

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// NotifySent calls back once the output queued at the call has drained to the
// mark the caller gave (not before), at once when it is there already, and
// with an error when the conn ends first.
func TestNotifySent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const mark = 64 << 10
		type result struct {
			err      error
			buffered int // Buffered() when f ran
			early    bool
			async    bool // the AsyncWrite's callback
		}
		results := make(chan result, 4)
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
			c.NotifySent(mark, func(err error) { results <- result{err: err, early: true} }) // nothing queued: at once
			c.Write(pattern(4<<20, 1))
			// An AsyncWrite's callback, due when all is sent, is queued first;
			// NotifySent's, due earlier, must still run first.
			c.AsyncWrite([]byte("x"), func(err error) { results <- result{err: err, async: true} })
			c.Loop().Execute(func() {
				c.NotifySent(mark, func(err error) { results <- result{err: err, buffered: c.Buffered()} })
			})
		}}
		s := start(t, b, h)
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
		}}
		c, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if r := <-results; !r.early || r.err != nil {
			t.Fatalf("first callback: %+v, want at once with nil", r)
		}
		select {
		case r := <-results:
			t.Fatalf("called back with 4 MiB queued and the peer not reading: %+v", r)
		case <-time.After(200 * time.Millisecond):
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		go io.Copy(io.Discard, c)
		select {
		case r := <-results:
			if r.err != nil || r.async || r.buffered > mark {
				t.Fatalf("callback: %+v, want NotifySent's with nil and at most %d bytes queued", r, mark)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no callback after the peer read everything")
		}
		if r := <-results; !r.async || r.err != nil {
			t.Fatalf("then %+v, want the AsyncWrite's callback with nil", r)
		}

		// The peer resets with the output queued: the callback gets the error.
		c2, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		<-results // the first, at once
		time.Sleep(50 * time.Millisecond)
		c2.(*net.TCPConn).SetLinger(0)
		c2.Close()
		select {
		case r := <-results:
			if r.err == nil || errors.Is(r.err, ErrClosed) {
				t.Fatalf("callback after the peer's reset: %v, want the reset", r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no callback after the peer's reset")
		}
	})
}
