//go:build unix && race

package reactortest

// Race reports whether the race detector is on. Its shadow memory grows with
// the heap and is not given back like the heap is, so RSS is logged but not
// asserted under -race.
const Race = true
