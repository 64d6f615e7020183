//go:build linux

package reactor

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"
)

// Conn A's OnData resumes conn B (a proxy resuming its other side), then
// hands A over with SetHandler and leaves the bytes behind its request for
// the new handler, which must see them at once. On io_uring B's peer reset
// while B was paused: ResumeReading reads B inline (peerFailed), and B's
// OnData, nested in A's, clears Loop.inData on return, so A's SetHandler
// no longer counts as made in OnData and A's rest waits for more input.
func TestNestedResumeKeepsSetHandlerSwitch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var bConn atomic.Pointer[Conn]
		bPaused := make(chan struct{}, 1)
		got := make(chan []byte, 1)
		h2 := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			select {
			case got <- bytes.Clone(d):
			default:
			}
			return len(d)
		}}
		h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			switch {
			case bytes.HasPrefix(d, []byte("B")) && bConn.Load() == nil:
				bConn.Store(c)
				c.PauseReading()
				bPaused <- struct{}{}
				return len(d)
			case bytes.HasPrefix(d, []byte("UPGRADE|")):
				if o := bConn.Load(); o != nil {
					o.ResumeReading()
				}
				c.SetHandler(h2)
				return len("UPGRADE|")
			}
			return len(d)
		}}
		s := start(t, b, h, WithLoops(1))
		cb := dial(t, s)
		cb.Write([]byte("B"))
		select {
		case <-bPaused:
		case <-time.After(5 * time.Second):
			t.Fatal("B not paused")
		}
		time.Sleep(50 * time.Millisecond) // B's recv cancel completes
		cb.Write([]byte("more from B"))
		time.Sleep(50 * time.Millisecond)
		cb.SetLinger(0)
		cb.Close() // reset while B is paused
		time.Sleep(50 * time.Millisecond)
		ca := dial(t, s)
		ca.Write([]byte("UPGRADE|frame"))
		select {
		case d := <-got:
			if string(d) != "frame" {
				t.Errorf("new handler got %q, want %q", d, "frame")
			}
		case <-time.After(2 * time.Second):
			t.Errorf("the new handler was not shown the bytes after the switch")
		}
	})
}
