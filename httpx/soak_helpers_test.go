package httpx

// Helpers of the soak suite (soak_*_test.go). Every soak test is named
// TestSoak... and sizes itself with soakN: unset RINGO_SOAK runs a small
// slice that keeps `go test -race ./httpx/` fast; RINGO_SOAK=1 runs the
// full sizes (see docs/RELIABILITY.md).

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
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
func soakN[T any](small, full T) T {
	if soakFull() {
		return full
	}
	return small
}

// soakRaiseNoFile raises RLIMIT_NOFILE (soft and, as root with
// CAP_SYS_RESOURCE, hard) to at least n and restores it when the test ends.
// It returns the soft limit in force.
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
		want = unix.Rlimit{Cur: rl.Max, Max: rl.Max}
		unix.Setrlimit(unix.RLIMIT_NOFILE, &want)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	return rl.Cur
}

func soakCountFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// soakRSS returns VmRSS of the process.
func soakRSS() int64 {
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

func soakSettledRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return soakRSS()
}

func soakMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// soakBase is a resource baseline.
type soakBase struct {
	fds, goroutines int
	rss             int64
}

func soakBaseline() soakBase {
	rss := soakSettledRSS()
	return soakBase{soakCountFDs(), runtime.NumGoroutine(), rss}
}

// soakBackToBase waits (bounded) until fds and goroutines are back to the
// baseline, then checks the settled RSS against it plus slack.
func soakBackToBase(t testing.TB, base soakBase, slack int64) {
	t.Helper()
	var fds, gs int
	deadline := time.Now().Add(30 * time.Second)
	for {
		fds, gs = soakCountFDs(), runtime.NumGoroutine()
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
	t.Logf("after: fds %d (baseline %d), goroutines %d (baseline %d), RSS %s (baseline %s, slack %s)",
		fds, base.fds, gs, base.goroutines, soakMiB(rss), soakMiB(base.rss), soakMiB(slack))
	if rss-base.rss > slack && !soakRace {
		t.Errorf("RSS %s above baseline %s by more than the slack %s", soakMiB(rss), soakMiB(base.rss), soakMiB(slack))
	}
}

// soakRSSSlack is what may stay resident after the conns of a soak test are
// gone: the reactor's per-loop buffer pools (up to 16 MiB each, two loops)
// and 32 MiB for the Go heap and the clients' caches.
const soakRSSSlack = 2*16<<20 + 32<<20

// soakPercentile returns the p-th percentile (0..100) of ds (sorted in place).
func soakPercentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[int(float64(len(ds)-1)*p/100)]
}

// soakLogBuf collects log output (safe from any goroutine).
type soakLogBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *soakLogBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *soakLogBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Count(l.b.Bytes(), []byte(s))
}

// normalLoad runs clients keep-alive connections, each sending reqs
// sequential "GET /ok/<client>/<i>" requests with a per-request deadline,
// and checks every response is 200 with the body the handlers give for
// /ok/ paths (the path). It returns the latencies and the first error.
func normalLoad(addr string, clients, reqs int, deadline time.Duration) ([]time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fail := func(err error) {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("normal client %d: %w", k, err)
				}
				mu.Unlock()
			}
			c, err := net.DialTimeout("tcp", addr, deadline)
			if err != nil {
				fail(err)
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			mine := make([]time.Duration, 0, reqs)
			for i := range reqs {
				path := fmt.Sprintf("/ok/%d/%d", k, i)
				t0 := time.Now()
				c.SetDeadline(t0.Add(deadline))
				if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", path); err != nil {
					fail(err)
					return
				}
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					fail(fmt.Errorf("request %d not answered within %v: %w", i, deadline, err))
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || string(body) != path {
					fail(fmt.Errorf("request %s: status %d body %q err %v", path, resp.StatusCode, body, err))
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, firstErr
}

func soakLatencies(lat []time.Duration) string {
	return fmt.Sprintf("%d requests, p50 %v, p99 %v, max %v", len(lat),
		soakPercentile(lat, 50).Round(time.Microsecond), soakPercentile(lat, 99).Round(time.Microsecond), soakPercentile(lat, 100).Round(time.Microsecond))
}

// soakWaitUntil polls cond (bounded) and fails with msg.
func soakWaitUntil(t testing.TB, d time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
