//go:build linux

package reactor

import (
	"bufio"
	"runtime"
	"testing"
	"time"
)

// A chain of Loop.Go funcs that never block, each continuation starting the
// next Go, must not keep the loop from its sockets: another conn on the same
// loop is echoed while the chain runs (as with a chain of Execute funcs,
// which runs one link per iteration).
func TestLoopGoChainLetsLoopPoll(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(map[int]string{1: "procs1", 2: "procs2"}[procs], func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			s := start(t, BackendEpoll, echoHandler(), WithParkedLoops(true), WithLoops(1))
			l := s.Loops()[0]
			c := dial(t, s)
			c.SetDeadline(time.Now().Add(20 * time.Second))
			r := bufio.NewReader(c)
			// Warm up: the conn is accepted and echoed.
			if _, err := c.Write([]byte("x\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			const chainFor = 2 * time.Second
			chainDone := make(chan time.Time, 1)
			var links int
			var step func() func()
			end := time.Now().Add(chainFor)
			step = func() func() {
				return func() { // continuation, on the loop
					links++
					for t0 := time.Now(); time.Since(t0) < 500*time.Microsecond; {
					}
					if time.Now().Before(end) {
						if !l.Go(step) {
							chainDone <- time.Now()
						}
						return
					}
					chainDone <- time.Now()
				}
			}
			started := make(chan struct{})
			if err := l.Execute(func() { close(started); l.Go(step) }); err != nil {
				t.Fatal(err)
			}
			<-started
			time.Sleep(50 * time.Millisecond)
			sent := time.Now()
			if _, err := c.Write([]byte("ping\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			lat := time.Since(sent)
			doneAt := <-chainDone
			t.Logf("echo took %v; chain of %d links ended %v after the ping", lat, links, doneAt.Sub(sent))
			if lat > 500*time.Millisecond {
				t.Fatalf("echo on the chain's loop took %v (chain of %d links ran %v): the Go chain starved the loop's sockets", lat, links, chainFor)
			}
		})
	}
}

// For comparison: a chain of Execute funcs does not starve the loop.
func TestReview28ExecuteChainFair(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := start(t, BackendEpoll, echoHandler(), WithParkedLoops(true), WithLoops(1))
	l := s.Loops()[0]
	c := dial(t, s)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	c.Write([]byte("x\n"))
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(2 * time.Second)
	done := make(chan struct{})
	var step func()
	step = func() {
		if time.Now().Before(end) {
			l.Execute(step)
			return
		}
		close(done)
	}
	l.Execute(step)
	time.Sleep(50 * time.Millisecond)
	sent := time.Now()
	c.Write([]byte("ping\n"))
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	lat := time.Since(sent)
	<-done
	t.Logf("echo took %v", lat)
	if lat > 500*time.Millisecond {
		t.Fatalf("Execute chain starved: %v", lat)
	}
}
