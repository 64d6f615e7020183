//go:build linux

// Package reactortest holds what tests of servers built on ringo need to
// prove they leave nothing behind: a process resource baseline (open fds,
// goroutines, settled RSS) and the wait for it to come back, a raised
// RLIMIT_NOFILE for many-connection tests, and the RINGO_SOAK switch between
// a quick slice and the full soak sizes. The reactor and httpx soak suites
// use it (see docs/RELIABILITY.md).
package reactortest

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Full reports whether RINGO_SOAK asks for the full soak sizes.
func Full() bool {
	v := os.Getenv("RINGO_SOAK")
	return v != "" && v != "0"
}

// N returns small, or full under RINGO_SOAK=1.
func N[T any](small, full T) T {
	if Full() {
		return full
	}
	return small
}

// RaiseNoFile raises RLIMIT_NOFILE (soft and, with CAP_SYS_RESOURCE, hard)
// to at least n and restores it when the test ends. Without the capability
// the soft limit goes up to the hard one. It returns the soft limit in force.
func RaiseNoFile(t testing.TB, n uint64) uint64 {
	t.Helper()
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur >= n {
		return rl.Cur
	}
	old := rl
	want := unix.Rlimit{Cur: n, Max: max(n, rl.Max)}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err != nil {
		want = unix.Rlimit{Cur: rl.Max, Max: rl.Max}
		unix.Setrlimit(unix.RLIMIT_NOFILE, &want)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	return rl.Cur
}

// CountFDs returns the number of open file descriptors of the process, -1
// if /proc is unreadable.
func CountFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// RSS returns the resident set size of the process (VmRSS), -1 if unknown.
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// SettledRSS collects garbage, returns freed memory to the OS and reads
// RSS: the figure that must come back to a baseline once conns are gone.
func SettledRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return RSS()
}

// MiB formats n bytes in MiB.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Base is a resource baseline, taken while the server runs with no conns.
type Base struct {
	FDs, Goroutines int
	RSS             int64
}

// Baseline takes a Base.
func Baseline() Base {
	rss := SettledRSS()
	return Base{CountFDs(), runtime.NumGoroutine(), rss}
}

// BackToBase waits (30 s at most) until fds and goroutines are back to base
// and fails the test with every goroutine's stack if they are not. Then it
// reads the settled RSS, logs the figures, and fails if RSS grew by more
// than slack, except under the race detector, whose shadow memory grows with
// the heap and is not given back. It returns the RSS growth left.
func BackToBase(t testing.TB, base Base, slack int64) int64 {
	t.Helper()
	var fds, gs int
	deadline := time.Now().Add(30 * time.Second)
	for {
		fds, gs = CountFDs(), runtime.NumGoroutine()
		if fds <= base.FDs && gs <= base.Goroutines {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: fds %d (baseline %d), goroutines %d (baseline %d)\n%s", fds, base.FDs, gs, base.Goroutines, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
	rss := SettledRSS()
	left := rss - base.RSS
	t.Logf("after: fds %d (baseline %d), goroutines %d (baseline %d), RSS %s (baseline %s, +%s, slack %s)",
		fds, base.FDs, gs, base.Goroutines, MiB(rss), MiB(base.RSS), MiB(left), MiB(slack))
	if left > slack && !Race {
		t.Errorf("RSS %s above baseline %s by %s, more than the slack %s", MiB(rss), MiB(base.RSS), MiB(left), MiB(slack))
	}
	return left
}

// WaitUntil polls cond every 5 ms until it holds, and fails the test with
// msg if it still does not after d.
func WaitUntil(t testing.TB, d time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
