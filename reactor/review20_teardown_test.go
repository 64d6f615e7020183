//go:build linux

package reactor

import (
	"errors"
	"testing"
	"time"
)

// AsyncWrites still in the task queue when the server closes are failed by
// the teardown (closeQueue), but their bytes stay counted in asyncQueued: a
// later AsyncWrite on the conn gets ErrQueueFull for ever (the doc says to
// retry after progress), never ErrLoopClosed.
// The write tasks Close failed kept their bytes in the conn's AsyncWrite bound: every later
// AsyncWrite larger than what was left got ErrQueueFull for ever (a producer retrying after a
// done callback, as documented, had no callback left to wait for) instead of ErrLoopClosed.
func TestReview20QueueFullAfterClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) { opened <- c }}
		s := start(t, b, h, WithLoops(1), WithAsyncWriteLimit(1024))
		cl := dial(t, s)
		defer cl.Close()
		c := awaitConn(t, opened, "no OnOpen")
		block, blocked := make(chan struct{}), make(chan struct{})
		c.Loop().Execute(func() { close(blocked); <-block })
		<-blocked
		done := make(chan error, 1)
		if err := c.AsyncWrite(make([]byte, 1000), func(err error) { done <- err }); err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { s.Close(); close(closed) }()
		time.Sleep(50 * time.Millisecond) // Close asked the loop to stop
		close(block)
		<-closed
		if err := <-done; err == nil {
			t.Fatal("done reported success")
		}
		// "Retry after a done callback reported progress (or later)":
		var err error
		for i := 0; i < 20; i++ {
			if err = c.AsyncWrite(make([]byte, 100), nil); !errors.Is(err, ErrQueueFull) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if errors.Is(err, ErrQueueFull) {
			t.Fatalf("AsyncWrite on a conn of a closed server still returns %v after 20 retries", err)
		}
	})
}

// An Execute'd func accepted before Server.Close calls CloseWithError(E) on
// a conn: OnClose must get E (as when the func runs before the stop), not
// the ErrServerClosed of the teardown.
// CloseWithError on the loop from a func the teardown runs (Execute'd before Close) found the
// task queue closed; its abort was lost and OnClose got ErrServerClosed.
func TestReview20CloseWithErrorInTeardownFunc(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		myErr := errors.New("rev42 abort")
		opened := make(chan *Conn, 1)
		closed := make(chan error, 1)
		h := HandlerFuncs{
			Open:  func(c *Conn) { opened <- c },
			Close: func(c *Conn, err error) { closed <- err },
		}
		s, _, c := startOpened(t, b, h, opened)
		block, blocked := make(chan struct{}), make(chan struct{})
		c.Loop().Execute(func() { close(blocked); <-block })
		<-blocked
		ret := make(chan error, 1)
		if err := c.Loop().Execute(func() { ret <- c.CloseWithError(myErr) }); err != nil {
			t.Fatal(err)
		}
		cd := make(chan struct{})
		go func() { s.Close(); close(cd) }()
		time.Sleep(50 * time.Millisecond) // Close has asked the loop to stop
		close(block)
		<-cd
		if e := <-ret; e != nil {
			t.Fatalf("CloseWithError returned %v", e)
		}
		select {
		case err := <-closed:
			if !errors.Is(err, myErr) {
				t.Fatalf("OnClose got %v, want the CloseWithError error %v", err, myErr)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
	})
}
