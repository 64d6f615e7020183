//go:build linux

package reactor

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// Shutdown called from a handler runs in the background, but its ctx still
// bounds it: "When ctx expires first it calls Close". A busy conn must be
// closed once the deadline passes, not kept for ever.
func TestShutdownFromHandlerKeepsDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var sp atomic.Pointer[Server]
		closed := make(chan error, 2)
		h := HandlerFuncs{
			Open: func(c *Conn) { c.SetBusy(true) }, // a request in progress
			Data: func(c *Conn, d []byte) int {
				if string(d) == "stop" {
					// The handler's usual pattern: its deferred cancel runs as soon as
					// Shutdown returns; the deadline must still bound the drain.
					ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
					defer cancel()
					sp.Load().Shutdown(ctx)
				}
				return len(d)
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s := start(t, b, h, WithLoops(1))
		sp.Store(s)
		dial(t, s) // stays busy
		ctl := dial(t, s)
		time.Sleep(50 * time.Millisecond)
		t0 := time.Now()
		if _, err := ctl.Write([]byte("stop")); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			select {
			case err := <-closed:
				t.Logf("OnClose(%v) after %v", err, time.Since(t0))
			case <-time.After(3 * time.Second):
				t.Fatalf("a busy conn still open %v after a Shutdown from a handler with a 300 ms deadline", time.Since(t0))
			}
		}
	})
}
