//go:build linux

package reactor

import (
	"fmt"
	"testing"
)

func TestEchoSizes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler())
		sizes := []int{1, 7, 100, 4096, 16 << 10, 64<<10 + 3, 1 << 20, 8 << 20}
		c := dial(t, s)
		for i, n := range sizes {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				echoRoundTrip(t, c, pattern(n, byte(i)))
			})
		}
	})
}
