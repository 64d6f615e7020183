//go:build unix && !race

package reactortest

// Race reports whether the race detector is on (see race.go).
const Race = false
