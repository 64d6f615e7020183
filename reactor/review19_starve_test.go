//go:build linux

package reactor

import (
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// A producer that continues from NotifySent (its documented use) must not keep
// the loop in one flush for ever while the peer keeps up: tasks (Execute,
// Close from other goroutines), timers and other conns must still run.
func TestReview19NotifySentProducerStarvesLoop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var stop atomic.Bool
		var produced atomic.Int64
		const limit = 512 << 20 // bound: stops by itself after this much
		chunk := pattern(16, 1)
		var produce func(c *Conn) func(error)
		produce = func(c *Conn) func(error) {
			return func(err error) {
				if err != nil || stop.Load() || produced.Load() >= limit {
					return
				}
				c.Write(chunk)
				produced.Add(int64(len(chunk)))
				c.NotifySent(0, produce(c))
			}
		}
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) {
			opened <- c
			produce(c)(nil)
		}}
		s, cl, c := startOpened(t, b, h, opened)
		defer stop.Store(true)
		go io.Copy(io.Discard, cl)
		// Let the producer run.
		deadline := time.Now().Add(5 * time.Second)
		for produced.Load() < 64<<10 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		ran := make(chan struct{})
		t0 := time.Now()
		if err := c.Loop().Execute(func() { close(ran) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ran:
			t.Logf("Execute ran after %v (produced %d)", time.Since(t0), produced.Load())
		case <-time.After(2 * time.Second):
			p := produced.Load()
			stop.Store(true)
			t.Fatalf("the loop ran no task for 2s while one conn's NotifySent producer sent (produced %d bytes)", p)
		}
		stop.Store(true)
		_ = s
	})
}
