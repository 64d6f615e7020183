//go:build linux

package reactor

// Helpers of the soak suite (soak_*_test.go). Every soak test is named
// TestSoak... and sizes itself with reactortest.N: unset RINGO_SOAK runs a small
// slice that keeps `go test -race ./reactor/` fast; RINGO_SOAK=1 runs the
// full sizes (see docs/RELIABILITY.md).

import (
	"strings"
	"testing"
	"time"
)

// soakOnLoops runs f on every loop of s and waits for it.
func soakOnLoops(t testing.TB, s *Server, f func(l *Loop)) {
	t.Helper()
	for _, l := range s.Loops() {
		done := make(chan struct{})
		if err := l.Execute(func() { f(l); close(done) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("loop did not run Execute")
		}
	}
}

// soakLeg is the forEachBackend leg a test runs in (epoll, uring, uring-5.7).
func soakLeg(t testing.TB) string {
	n := t.Name()
	return n[strings.LastIndex(n, "/")+1:]
}
