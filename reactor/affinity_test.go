//go:build linux

package reactor

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestCPUAffinity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		if testHookParked {
			parkedNotPinned(t, b)
			return
		}
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

// parkedNotPinned: parked loops have no thread of their own, so
// WithCPUAffinity leaves the threads they run on as they were (pinning
// would pin whatever Go thread ran the loop at the time).
func parkedNotPinned(t *testing.T, b Backend) {
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	s := start(t, b, echoHandler(), WithCPUAffinity([]int{0}), WithLoops(2))
	for _, l := range s.Loops() {
		got := make(chan unix.CPUSet, 1)
		l.Execute(func() {
			var set unix.CPUSet
			unix.SchedGetaffinity(0, &set)
			got <- set
		})
		if set := <-got; set != before {
			t.Fatalf("parked loop %d runs on a thread pinned to %d CPUs (process: %d)", l.Index(), set.Count(), before.Count())
		}
	}
	echoRoundTrip(t, dial(t, s), []byte("not pinned"))
}
