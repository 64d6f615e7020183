//go:build linux

package reactor

import (
	"net"
	"testing"
	"time"
)

// A timer armed by OnClose (or OnData) must fire on time. On io_uring a ResumeReading of a
// conn whose peer reset it while paused is armed at the next wait (armResumed), which then
// reads the reset and runs OnClose inside wait, after the wait's timeout was computed
// (waitTimeout): a timer OnClose arms there is not in that timeout, and the loop sleeps
// past it (forever, with no other timer or event).
func TestTimerFromResumedResetFires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		paused := make(chan *Conn, 1)
		closed := make(chan struct{})
		fired := make(chan struct{})
		h := HandlerFuncs{
			Data: func(c *Conn, d []byte) int {
				c.PauseReading()
				select {
				case paused <- c:
				default:
				}
				return len(d)
			},
			Close: func(c *Conn, err error) {
				// e.g. a client conn scheduling its reconnect
				c.Loop().AfterFunc(20*time.Millisecond, func() { close(fired) })
				close(closed)
			},
		}
		c, cl := dialPaused(t, b, h, paused)
		cl.SetLinger(0)
		cl.Close() // RST while paused
		time.Sleep(50 * time.Millisecond)
		c.Loop().Execute(func() { c.ResumeReading() })
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
		start := time.Now()
		select {
		case <-fired:
		case <-time.After(2 * time.Second):
			t.Fatalf("a 20 ms timer armed in OnClose had not fired after %v: the loop sleeps past it", time.Since(start))
		}
	})
}

// dialPaused starts a one-loop server with h, connects and sends one byte; h's OnData pauses
// reading and hands its conn to paused. It returns that conn and the client once the pause's
// recv cancel has had time to complete.
func dialPaused(t *testing.T, b Backend, h Handler, paused <-chan *Conn) (*Conn, *net.TCPConn) {
	t.Helper()
	s := start(t, b, h, WithLoops(1))
	cl := dial(t, s)
	cl.Write([]byte("A"))
	c := awaitConn(t, paused, "no OnData")
	time.Sleep(50 * time.Millisecond) // the recv's cancel completes
	return c, cl
}
