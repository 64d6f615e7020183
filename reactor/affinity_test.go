//go:build linux

package reactor

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestCPUAffinity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithCPUAffinity([]int{0}), WithLoops(2))
		for _, l := range s.Loops() {
			got := make(chan int, 1)
			// Execute runs on the loop's locked thread.
			l.Execute(func() {
				var set unix.CPUSet
				if err := unix.SchedGetaffinity(0, &set); err != nil {
					got <- -1
					return
				}
				if set.Count() == 1 && set.IsSet(0) {
					got <- 0
				} else {
					got <- set.Count()
				}
			})
			if r := <-got; r != 0 {
				t.Fatalf("loop %d thread not pinned to cpu 0 (%d)", l.Index(), r)
			}
		}
		echoRoundTrip(t, dial(t, s), []byte("pinned"))
	})
}
