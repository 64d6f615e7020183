//go:build linux

package reactor

import (
	"bufio"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ResumeReading presents kept input "on the next iteration" (its doc). A
// handler that pauses and resumes in its OnData with input left unconsumed
// must not keep the loop in runRedeliver: other conns on the loop are still
// served and Close returns.
func TestResumeInOnDataWaitsForNextIteration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var calls atomic.Int64
		var stop atomic.Bool
		h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			if strings.HasPrefix(string(d), "hold") && !stop.Load() {
				calls.Add(1)
				c.PauseReading()
				c.ResumeReading() // e.g. a flow-control check that found room again
				return 0
			}
			c.Write(d)
			return len(d)
		}}
		s := start(t, b, h, WithLoops(1))
		other := dial(t, s)
		other.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(other)
		other.Write([]byte("x\n"))
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		hc := dial(t, s)
		hc.Write([]byte("hold"))
		time.Sleep(50 * time.Millisecond)
		hc.Write([]byte("more"))
		time.Sleep(50 * time.Millisecond)
		t0 := time.Now()
		other.Write([]byte("ping\n"))
		got := make(chan time.Duration, 1)
		go func() {
			r.ReadString('\n')
			got <- time.Since(t0)
		}()
		select {
		case d := <-got:
			stop.Store(true)
			t.Logf("echo in %v; %d OnData calls for the held conn", d, calls.Load())
		case <-time.After(2 * time.Second):
			n := calls.Load()
			stop.Store(true)
			t.Fatalf("no echo in 2 s on the loop: it is stuck redelivering the held conn's input (%d OnData calls)", n)
		}
	})
}
