//go:build linux

package reactor

import (
	"io"
	"testing"
	"time"
)

// shutdownMasks runs f on the leg forEachBackend gives, and on the io_uring
// leg also under the 5.19 and 6.0 masks: rings with COOP_TASKRUN but no
// DEFER_TASKRUN, whose task work runs at any syscall's exit of the loop's
// thread, not only in the loop's own wait.
func shutdownMasks(t *testing.T, f func(t *testing.T, b Backend, extra Option)) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		f(t, b, nil)
		if b != BackendUring || testHookFeatureMask != 0 {
			return
		}
		for _, gen := range kernelGenerations {
			if gen.name != "5.19" && gen.name != "6.0" {
				continue
			}
			t.Run(gen.name, func(t *testing.T) { f(t, b, withFeatureMask(gen.mask)) })
		}
	})
}

// A request that reaches an idle keep-alive conn in the iteration in which
// Shutdown's drain starts, before closeIdle looks at that conn, is answered:
// the conn is not idle, its request is unconsumed input (Shutdown's doc:
// idle conns have "no unconsumed input"). On io_uring rings without
// DEFER_TASKRUN the kernel's task work, run at the exit of any syscall of
// the loop's thread (here the client's own write, made on the loop), moves
// the request into a provided buffer and posts its CQE before closeIdle asks
// the socket for unread bytes: the socket then shows none, the conn was
// closed as idle, and the request's CQE, reaped next, was dropped.
func TestReview21ShutdownIdleCheckSeesUnreapedInput(t *testing.T) {
	shutdownMasks(t, func(t *testing.T, b Backend, extra Option) {
		h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			c.Write([]byte("resp\n"))
			return len(d)
		}}
		s := start(t, b, h, WithLoops(1), extra)
		cl := dial(t, s)
		cl.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 5)
		cl.Write([]byte("req\n"))
		if _, err := io.ReadFull(cl, buf); err != nil {
			t.Fatal(err)
		}
		l := s.Loops()[0]
		inA, releaseA := make(chan struct{}), make(chan struct{})
		l.Execute(func() { close(inA); <-releaseA }) // the loop is busy
		<-inA
		shut := shutdownStarted(s, l) // the drain starts in the loop's next iteration
		l.Execute(func() {
			// Runs in that iteration, before the drain starts: the request
			// arrives after the iteration's wait reaped the CQ.
			cl.Write([]byte("req\n"))
			time.Sleep(2 * time.Millisecond)
		})
		close(releaseA)
		got, err := io.ReadAll(cl)
		serr := <-shut
		if string(got) != "resp\n" {
			t.Fatalf("request sent on an idle conn as the drain started: got %q (%v), want %q", got, err, "resp\n")
		}
		if serr != nil {
			t.Fatalf("Shutdown: %v", serr)
		}
	})
}
