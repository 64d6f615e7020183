//go:build linux

package reactor

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// CloseWithError closes c at once and OnClose gets its error. Called on the loop (here in a
// timer callback) right before Server.Close, the abort task it queued was dropped by the
// teardown (closeQueue runs only funcs and AsyncWrite callbacks), which then closed c with
// ErrServerClosed: the caller's error was lost, though c's close was requested first.
func TestCloseWithErrorBeforeServerCloseKeepsError(t *testing.T) {
	errMine := errors.New("kicked")
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		closed := make(chan error, 1)
		var sp atomic.Pointer[Server]
		h := HandlerFuncs{
			Open: func(c *Conn) {
				c.Loop().AfterFunc(10*time.Millisecond, func() {
					c.CloseWithError(errMine)
					sp.Load().Close() // from the loop: stops the loops, returns at once
				})
				opened <- c
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s := start(t, b, h, WithLoops(1))
		sp.Store(s)
		dial(t, s)
		awaitConn(t, opened, "no OnOpen")
		select {
		case err := <-closed:
			if err != errMine {
				t.Fatalf("OnClose got %v, want the CloseWithError error %v", err, errMine)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
	})
}
