//go:build linux

package reactor

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// Shutdown closes only idle conns: "no unread bytes in the socket" (ARCHITECTURE), no
// unconsumed input (SetBusy). closeIdle checks the socket only for conns that want to read,
// so a conn whose reading is paused (here from OnOpen, resumed by a timer: admission
// control) with a request sitting unread in its socket was closed as idle: the client's
// request was never seen, and it got EOF for it.
func TestShutdownKeepsPausedConnWithUnreadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var seen atomic.Int64
		type result struct {
			seen int64
			err  error
		}
		closed := make(chan result, 1)
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				c.PauseReading()
				c.Loop().AfterFunc(300*time.Millisecond, func() { c.ResumeReading() })
				opened <- c
			},
			Data: func(c *Conn, d []byte) int {
				seen.Add(int64(len(d)))
				c.Close() // answered; done
				return len(d)
			},
			Close: func(c *Conn, err error) { closed <- result{seen.Load(), err} },
		}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		awaitConn(t, opened, "no OnOpen")
		if _, err := cl.Write([]byte("request")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // in the server's socket, unread (paused)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		go s.Shutdown(ctx)
		select {
		case r := <-closed:
			if r.seen != int64(len("request")) {
				t.Fatalf("Shutdown closed a paused conn with %d unread bytes in its socket as idle (OnData saw %d, OnClose %v)", len("request"), r.seen, r.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
	})
}
