//go:build linux

package reactor

import (
	"errors"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A runtime.Goexit in a done callback that the conn's close (finish) runs:
// the callbacks queued after it must still run, once (fireDones' doc: "after
// a runtime.Goexit in one the teardown's finish runs what is left").
func TestDonesGoexitInClosingCallbackRunsTheRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var rest atomic.Int32
		h := HandlerFuncs{
			Open: func(c *Conn) {
				syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
				c.Write(make([]byte, 4<<20)) // the peer reads nothing
				c.NotifySent(0, func(err error) {
					if err != nil {
						runtime.Goexit()
					}
				})
				c.NotifySent(0, func(err error) { rest.Add(1) })
				c.CloseWithError(errors.New("x"))
			},
		}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		defer cl.Close()
		select {
		case <-s.Loops()[0].done:
		case <-time.After(10 * time.Second):
			t.Fatal("the loop did not end")
		}
		s.Close()
		if n := rest.Load(); n != 1 {
			t.Fatalf("the callback queued after the one that called Goexit ran %d times, want 1", n)
		}
	})
}

// Server.Close with an AsyncWrite still in the task queue: the teardown
// (closeQueue) finishes its conn first, which runs the conn's earlier done
// callbacks; a runtime.Goexit in one of those must not lose the queued
// AsyncWrite's own callback (closeQueue requeues only the tasks after it).
func TestDonesGoexitInTeardownFinishKeepsQueuedDone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
			c.Write(make([]byte, 4<<20)) // the peer reads nothing
			c.NotifySent(0, func(err error) {
				if err != nil {
					runtime.Goexit() // t.FailNow in a test handler
				}
			})
			opened <- c
		}}
		s, _, c := startOpened(t, b, h, opened)
		block, blocked := make(chan struct{}), make(chan struct{})
		c.Loop().Execute(func() { close(blocked); <-block })
		<-blocked
		var calls atomic.Int32
		if err := c.AsyncWrite([]byte("x"), func(error) { calls.Add(1) }); err != nil { // stays in the task queue
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { s.Close(); close(closed) }()
		time.Sleep(100 * time.Millisecond) // Close asked the loop to stop
		close(block)
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close hangs")
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("the queued AsyncWrite's done callback ran %d times, want 1", n)
		}
	})
}
