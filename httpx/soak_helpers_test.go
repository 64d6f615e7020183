package httpx

// Helpers of the soak suite (soak_*_test.go). Every soak test is named
// TestSoak... and sizes itself with reactortest.N: unset RINGO_SOAK runs a small
// slice that keeps `go test -race ./httpx/` fast; RINGO_SOAK=1 runs the
// full sizes (see docs/RELIABILITY.md).

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// soakRSSSlack is what may stay resident after the conns of a soak test are
// gone: 16 MiB of each of two loops' buffer pools (bounded at about 33 MiB a
// loop, see reactor/loop.go; a soak's buffers fill about half of that) and
// 32 MiB for the Go heap and the clients' caches.
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
