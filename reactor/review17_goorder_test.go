//go:build linux

package reactor

import (
	"io"
	"runtime"
	"testing"
	"time"
)

// rev25: what a Go func queues for the loop (AsyncWrite, Execute) before it
// returns must reach the loop before its continuation, as it does when the
// func was taken over (the continuation is then queued with Execute behind
// them) and as it would from any goroutine that queued both.
func TestGoContinuationAfterQueued(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
		l := c.Loop()
		l.Go(func() func() {
			c.AsyncWrite([]byte("A"), nil) // from f: off the loop
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
		t.Fatalf("got %q, want %q (f's AsyncWrite before its continuation's Write)", got, "AB")
	}
}

// The same func, taken over (it sleeps after the AsyncWrite): "AB".
func TestGoContinuationAfterQueuedTakenOver(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
		l := c.Loop()
		l.Go(func() func() {
			c.AsyncWrite([]byte("A"), nil)
			time.Sleep(time.Millisecond)
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
		t.Fatalf("got %q, want %q", got, "AB")
	}
}
