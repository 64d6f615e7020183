//go:build linux && !race

package reactor

import (
	"io"
	"testing"
	"time"
)

// TestEchoSteadyStateAllocatesNothing: once warm, an echo round trip
// allocates nothing, on the loop or (with Go's net.Conn) in the client.
// AllocsPerRun counts every goroutine's allocations, the loop's included.
func TestEchoSteadyStateAllocatesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithLoops(1))
		c := dial(t, s)
		c.SetDeadline(time.Now().Add(60 * time.Second))
		msg := pattern(512, 1)
		buf := make([]byte, len(msg))
		roundTrip := func() {
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
		}
		for range 200 {
			roundTrip() // warm: pools, slices, buffers
		}
		if allocs := testing.AllocsPerRun(2000, roundTrip); allocs != 0 {
			t.Fatalf("echo round trip allocates %v times", allocs)
		}
	})
}
