//go:build linux

package reactor

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// Found by the session-13 review of flow control and close ordering.

// eofPendingHandler keeps its first input unconsumed and pauses, so that
// the peer's FIN, completed in the same batch, is held (eofPending).
type eofPendingHandler struct {
	conn     chan *Conn
	closed   atomic.Bool // set on the loop right after Close
	lateData atomic.Int32
	data     atomic.Int32
}

func (h *eofPendingHandler) OnOpen(c *Conn) { h.conn <- c }
func (h *eofPendingHandler) OnData(c *Conn, d []byte) int {
	h.data.Add(1)
	if h.closed.Load() {
		h.lateData.Add(1)
		return len(d)
	}
	c.PauseReading()
	return 0
}
func (h *eofPendingHandler) OnClose(*Conn, error) {}

// TestNoOnDataAfterCloseWithEOFPending: "No OnData call follows a Close
// made on the loop", also when the peer's EOF came while reading was paused
// with kept input and the handler resumes, then closes.
func TestNoOnDataAfterCloseWithEOFPending(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		hits := 0
		for i := 0; i < 20 && hits < 3; i++ {
			h := &eofPendingHandler{conn: make(chan *Conn, 1)}
			s := start(t, b, h, WithLoops(1))
			nc, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			nc.Write([]byte("hello"))
			nc.(*net.TCPConn).CloseWrite()
			c := <-h.conn
			time.Sleep(50 * time.Millisecond)
			var eofPending bool
			done := make(chan struct{})
			s.Loops()[0].Execute(func() {
				eofPending = c.eofPending
				c.ResumeReading()
				c.Close()
				h.closed.Store(true)
				close(done)
			})
			<-done
			time.Sleep(50 * time.Millisecond)
			nc.Close()
			s.Close()
			if eofPending {
				hits++
			}
			if n := h.lateData.Load(); n > 0 {
				t.Fatalf("OnData called %d times after Close (eofPending %v)", n, eofPending)
			}
		}
		t.Logf("eofPending reached %d times", hits)
	})
}

// TestCloseWithErrorAfterPeerEOF: a conn whose peer half-closed (a
// handler without ReadEOFHandler: the reactor closes it gracefully once its
// output is out) and does not read its large response must still be
// abortable: CloseWithError "closes c at once: queued output is dropped and
// OnClose gets err". Only Close and CloseWithError count for "the first
// wins"; the reactor's own graceful close is neither.
func TestCloseWithErrorAfterPeerEOF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		errAbort := errors.New("abort")
		conns := make(chan *Conn, 1)
		closed := make(chan error, 1)
		resp := pattern(16<<20, 5)
		h := HandlerFuncs{
			Data: func(c *Conn, d []byte) int {
				if c.Context() == nil {
					c.SetContext(true)
					c.Write(resp)
					conns <- c
				}
				return len(d)
			},
			Close: func(_ *Conn, err error) { closed <- err },
		}
		// Marks above the response: reading goes on, so the EOF is seen.
		s := start(t, b, h, WithLoops(1), WithWriteWaterMarks(64<<20, 1<<20))
		nc := dial(t, s)
		nc.SetReadBuffer(4 << 10)
		if _, err := nc.Write([]byte("request")); err != nil {
			t.Fatal(err)
		}
		if err := nc.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		c := <-conns
		reactortest.WaitUntil(t, 5*time.Second, "the peer's EOF seen", func() bool {
			var st connState
			soakOnLoops(t, s, func(*Loop) { st = c.state })
			return st == stateClosing
		})
		c.CloseWithError(errAbort) // from another goroutine
		select {
		case err := <-closed:
			if err != errAbort {
				t.Fatalf("OnClose(%v), want %v", err, errAbort)
			}
		case <-time.After(3 * time.Second):
			var buffered int
			soakOnLoops(t, s, func(*Loop) { buffered = c.Buffered() })
			t.Fatalf("CloseWithError ignored: no OnClose after 3s, %d bytes still queued for a peer that does not read", buffered)
		}
	})
}
