//go:build linux

package reactor

import (
	"io"
	"runtime"
	"testing"
	"time"
)

// What a Go func queues for the loop (AsyncWrite, Execute) before it returns
// reaches the loop before its continuation, whether the func was taken over
// (it blocked: the continuation is queued with Execute behind what it
// queued) or not (found by a review: the continuation ran first, "BA").
func TestGoContinuationAfterQueued(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, blocks := range []bool{false, true} {
		h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			c.Loop().Go(func() func() {
				c.AsyncWrite([]byte("A"), nil) // from f: off the loop
				if blocks {
					time.Sleep(time.Millisecond) // taken over
				}
				return func() {
					c.Write([]byte("B"))
					c.Close()
				}
			})
			return len(d)
		}}
		s := start(t, BackendEpoll, h, WithParkedLoops(true), WithLoops(1))
		c := dial(t, s)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("x"))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "AB" {
			t.Fatalf("func blocks %v: got %q, want %q (f's AsyncWrite before its continuation's Write)", blocks, got, "AB")
		}
	}
}
