//go:build linux

package reactor

// Helpers of the soak suite (soak_*_test.go). Every soak test is named
// TestSoak... and sizes itself with soakN: unset RINGO_SOAK runs a small
// slice that keeps `go test -race ./reactor/` fast; RINGO_SOAK=1 runs the
// full sizes (see docs/RELIABILITY.md).

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// soakFull reports whether RINGO_SOAK asks for the full sizes.
func soakFull() bool {
	v := os.Getenv("RINGO_SOAK")
	return v != "" && v != "0"
}

// soakN returns small, or full under RINGO_SOAK=1.
func soakN(small, full int) int {
	if soakFull() {
		return full
	}
	return small
}

// soakRaiseNoFile raises RLIMIT_NOFILE (soft and, as root, hard) to at
// least n and restores it when the test ends. It returns the soft limit in
// force.
func soakRaiseNoFile(t testing.TB, n uint64) uint64 {
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
		want = unix.Rlimit{Cur: rl.Max, Max: rl.Max} // not root: the hard limit is the most
		unix.Setrlimit(unix.RLIMIT_NOFILE, &want)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	return rl.Cur
}

// soakRSS returns the resident set size of the process (VmRSS).
func soakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
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

// soakSettledRSS collects garbage, returns freed memory to the OS and reads RSS:
// the figure that must come back to baseline once conns are gone.
func soakSettledRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return soakRSS()
}

func soakMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// soakBase is a resource baseline taken while the server runs with no conns.
type soakBase struct {
	fds, goroutines int
	rss             int64
}

func soakBaseline() soakBase {
	rss := soakSettledRSS()
	return soakBase{countFDs(), runtime.NumGoroutine(), rss}
}

// soakBackToBase waits (bounded) until fds and goroutines are back to the
// baseline, then checks the settled RSS against it plus slack. It logs the
// figures and returns the RSS growth left.
func soakBackToBase(t testing.TB, base soakBase, slack int64) int64 {
	t.Helper()
	var fds, gs int
	deadline := time.Now().Add(30 * time.Second)
	for {
		fds, gs = countFDs(), runtime.NumGoroutine()
		if fds <= base.fds && gs <= base.goroutines {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: fds %d (baseline %d), goroutines %d (baseline %d)\n%s", fds, base.fds, gs, base.goroutines, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
	rss := soakSettledRSS()
	left := rss - base.rss
	t.Logf("after: fds %d (baseline %d), goroutines %d (baseline %d), RSS %s (baseline %s, +%s, slack %s)",
		fds, base.fds, gs, base.goroutines, soakMiB(rss), soakMiB(base.rss), soakMiB(left), soakMiB(slack))
	if left > slack && !soakRace {
		t.Errorf("RSS %s above baseline %s by %s, more than the slack %s", soakMiB(rss), soakMiB(base.rss), soakMiB(left), soakMiB(slack))
	}
	return left
}

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
