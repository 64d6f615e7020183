//go:build linux

package reactor

import (
	"io"
	"testing"
	"time"
)

// Timers armed for the same time run in the order they were armed. The loop
// clock is read once per iteration, so every AfterFunc with the same duration
// armed in one callback has the same deadline; the heap used to pop such
// timers in nearly reverse order (0, n-1, n-2, ...).
func TestTimersEqualDeadlineRunInArmingOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithLoops(1))
		l := s.Loops()[0]
		const n = 20000
		got := make([]int, 0, n)
		done := make(chan struct{})
		l.Execute(func() {
			for i := range n {
				d := 10 * time.Millisecond
				if i%1000 == 999 {
					d = 0 // a few due at once, armed in between
				}
				l.AfterFunc(d, func() {
					got = append(got, i)
					if len(got) == n {
						close(done)
					}
				})
			}
		})
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("timers did not run")
		}
		var want []int
		for i := 999; i < n; i += 1000 {
			want = append(want, i)
		}
		for i := range n {
			if i%1000 != 999 {
				want = append(want, i)
			}
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("timer %d ran at position %d, want %d (first ten: %v)", got[i], i, want[i], got[:10])
			}
		}
	})
}

// A handler that delays every byte by the same amount writes them in the
// order received.
func TestAfterFuncSameDelayKeepsWriteOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		h := HandlerFuncs{Data: func(c *Conn, in []byte) int {
			for _, x := range in {
				c.Loop().AfterFunc(20*time.Millisecond, func() { c.Write([]byte{x}) })
			}
			return len(in)
		}}
		s := start(t, b, h)
		c := dial(t, s)
		msg := []byte("abcdefghijklmnopqrstuvwxyz")
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(msg) {
			t.Fatalf("got %q, want %q", got, msg)
		}
	})
}
