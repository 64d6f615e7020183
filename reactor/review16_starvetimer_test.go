//go:build linux

package reactor

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"
)

// Same as TestTimerFromResumedResetFires for a conn re-armed after -ENOBUFS
// (rearmStarved, in wait): its peer reset it meanwhile, armRecv reads the reset
// (peerFailed) and OnClose runs inside wait, after its timeout was computed.
func TestTimerFromStarvedResetFires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var opened atomic.Int32
		bStarted := make(chan struct{})
		aClosed := make(chan struct{})
		fired := make(chan struct{})
		var once atomic.Bool
		h := HandlerFuncs{
			Open: func(c *Conn) { opened.Add(1) },
			Data: func(c *Conn, d []byte) int {
				if d[0] == 'B' {
					c.SetContext("B")
				}
				if d[0] == 'B' && once.CompareAndSwap(false, true) {
					close(bStarted)
					time.Sleep(300 * time.Millisecond) // the ring stays empty meanwhile
				}
				return len(d)
			},
			Close: func(c *Conn, err error) {
				if c.Context() == nil {
					c.Loop().AfterFunc(20*time.Millisecond, func() { close(fired) })
					close(aClosed)
				}
			},
		}
		s := start(t, b, h, WithLoops(1), WithBufferRing(2048, 8))
		a := dial(t, s)
		bc := dial(t, s)
		for opened.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		bc.Write(bytes.Repeat([]byte("B"), 8*2048))
		select {
		case <-bStarted:
		case <-time.After(5 * time.Second):
			t.Fatal("no OnData for B")
		}
		// While B's OnData holds the ring's buffers: 16 KiB more for B (its next recv takes
		// the whole ring at the next enter), then A's byte (no buffer left: -ENOBUFS, A is
		// starved), then A's reset.
		bc.Write(bytes.Repeat([]byte("B"), 8*2048))
		time.Sleep(20 * time.Millisecond)
		a.Write([]byte("A"))
		time.Sleep(20 * time.Millisecond)
		a.SetLinger(0)
		a.Close()
		select {
		case <-aClosed:
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose for A")
		}
		st := time.Now()
		select {
		case <-fired:
		case <-time.After(2 * time.Second):
			t.Fatalf("a 20 ms timer armed in OnClose had not fired after %v", time.Since(st))
		}
	})
}
