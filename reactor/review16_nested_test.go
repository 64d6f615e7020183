//go:build linux

package reactor

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// A handler that pauses and resumes reading inside one OnData (flow control
// around its own work) on a conn whose peer reset it while reading was
// paused must not see a nested OnData (or OnClose) for that conn: on
// io_uring ResumeReading -> armRecv -> peerFailed reads the socket and calls
// input (OnData) or eof (finish: OnClose) inline, inside the running OnData.
func TestResumeAfterResetNoNestedCallbacks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var depth, nested, calls atomic.Int32
		paused := make(chan *Conn, 1)
		closed := make(chan struct{})
		h := HandlerFuncs{
			Data: func(c *Conn, d []byte) int {
				if depth.Add(1) > 1 {
					nested.Add(1)
				}
				defer depth.Add(-1)
				if calls.Add(1) == 1 {
					c.PauseReading()
					paused <- c
					return len(d)
				}
				// Flow control around some work: pause, work, resume.
				c.PauseReading()
				c.ResumeReading()
				return len(d)
			},
			Close: func(c *Conn, err error) {
				if depth.Load() > 0 {
					nested.Add(1)
				}
				close(closed)
			},
		}
		c, cl := dialPaused(t, b, h, paused)
		if _, err := cl.Write(pattern(100<<10, 3)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // in the server's socket
		cl.SetLinger(0)
		cl.Close() // RST
		time.Sleep(50 * time.Millisecond)
		c.Loop().Execute(func() { c.ResumeReading() })
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
		if n := nested.Load(); n > 0 {
			t.Errorf("%d handler callbacks for the conn ran nested inside its OnData (OnData calls: %d)", n, calls.Load())
		}
	})
}

var _ = net.Dial
