package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// fairServer starts s on one loop with backend b (and opts), until the test ends.
func fairServer(t *testing.T, b reactor.Backend, s *Server, opts ...reactor.Option) string {
	t.Helper()
	s.Reactor = append([]reactor.Option{reactor.WithBackend(b), reactor.WithLoops(1)}, opts...)
	s.Logger = quietLogger()
	if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
		if errors.Is(err, reactor.ErrBackendUnavailable) {
			t.Skipf("backend %s unavailable: %v", b, err)
		}
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fairServers.Store(s.Addr().String(), s)
	return s.Addr().String()
}

// probeGets runs rounds of one GET on each of n conns and returns the
// latencies, sorted (a failed request counts as 10 s).
func probeGets(t *testing.T, addr string, n, rounds int) []time.Duration {
	t.Helper()
	type pc struct {
		c  net.Conn
		br *bufio.Reader
	}
	conns := make([]pc, n)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = pc{c, bufio.NewReader(c)}
	}
	var mu sync.Mutex
	var lat []time.Duration
	req := []byte("GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
	for range rounds {
		var wg sync.WaitGroup
		for _, p := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.c.SetDeadline(time.Now().Add(10 * time.Second))
				t0 := time.Now()
				d := 10 * time.Second
				if _, err := p.c.Write(req); err == nil {
					if resp, err := http.ReadResponse(p.br, nil); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						d = time.Since(t0)
					}
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}()
		}
		wg.Wait()
		time.Sleep(2 * time.Millisecond)
	}
	slices.Sort(lat)
	return lat
}

func pct(lat []time.Duration, p float64) time.Duration {
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

// One client pipelining requests as fast as it can (reading the responses
// as fast as it can) must not starve 20 conns doing one small request each.
func TestReview21FairPipelineFlood(t *testing.T) {
	fast := HandlerFunc(func(c *Ctx) { c.SetBodyString("hello") })
	std := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	for _, tc := range []struct {
		name string
		h    Handler
		opts []reactor.Option
	}{
		{"fast", fast, nil},
		{"fromhttp", std, nil},
		{"fromhttp-parked", std, []reactor.Option{reactor.WithParkedLoops(true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				if tc.name == "fromhttp-parked" && b != reactor.BackendEpoll {
					t.Skip("parked loops run on epoll")
				}
				addr := fairServer(t, b, &Server{Handler: tc.h}, tc.opts...)
				var resps atomic.Int64
				stop := pipelineFlood(t, addr, 1000, 1<<20, func(b []byte) { resps.Add(int64(bytes.Count(b, []byte("hello")))) })
				time.Sleep(100 * time.Millisecond)
				lat := probeGets(t, addr, 20, 30)
				stop()
				t.Logf("%d pipelined responses; small p50 %v p99 %v max %v", resps.Load(), pct(lat, .5), pct(lat, .99), lat[len(lat)-1])
				if m := lat[len(lat)-1]; m > 300*time.Millisecond {
					t.Errorf("a small request waited %v", m)
				}
			})
		})
	}
}

// A client pipelining requests for large responses, and reading them as fast
// as it can, must not hold the loop: each response of 256 KiB or more goes out
// at once (a Write of 16 KiB or more with nothing queued is sent directly), so the
// connection's output never passes the high-water mark, and the fast path served
// every request of a read in one OnData (2,000 requests of 31 bytes in a 64 KiB
// read: 2 GB of responses) while the conns sharing the loop waited.
func TestReview21FairPipelinedLargeResponses(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 1<<20)
	var iter time.Time // the loop clock of the iteration the last big response was made in
	var inIter, maxInIter int
	fast := HandlerFunc(func(c *Ctx) {
		if string(c.Path()) != "/big" {
			c.SetBodyString("hello")
			return
		}
		if now := c.e.t.(*connTransport).c.Loop().Now(); now != iter {
			iter, inIter = now, 0
		}
		inIter++
		maxInIter = max(maxInIter, inIter)
		c.SetBody(body)
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		iter, inIter, maxInIter = time.Time{}, 0, 0
		addr := fairServer(t, b, &Server{Handler: fast})
		var moved atomic.Int64
		stop := pipelineFlood(t, addr, 2000, 4<<20, func(b []byte) { moved.Add(int64(len(b))) })
		time.Sleep(50 * time.Millisecond)
		lat := probeGets(t, addr, 20, 30)
		stop()
		var most int
		done := make(chan struct{})
		// Read on the loop (the handler's variables are the loop's).
		srvLoop(t, addr).Execute(func() { most = maxInIter; close(done) })
		<-done
		t.Logf("moved %d MB to the pipelining client; at most %d responses of 1 MiB in one loop iteration; small p50 %v p99 %v max %v",
			moved.Load()>>20, most, pct(lat, .5), pct(lat, .99), lat[len(lat)-1])
		if most > 16 {
			t.Errorf("one conn got %d responses of 1 MiB in one loop iteration (the small conns waited up to %v)", most, lat[len(lat)-1])
		}
	})
}

// pipelineFlood has one client pipeline "GET /big" in batches of n requests to addr and read
// the answers into a buffer of size bytes, passing each read to seen, until the returned stop is
// called (it closes the conn and waits for both goroutines).
func pipelineFlood(t *testing.T, addr string, n, size int, seen func([]byte)) (stop func()) {
	big, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		batch := bytes.Repeat([]byte("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"), n)
		for !done.Load() {
			big.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := big.Write(batch); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, size)
		for !done.Load() {
			big.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := big.Read(buf)
			seen(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return func() {
		done.Store(true)
		big.Close()
		wg.Wait()
	}
}

var fairServers sync.Map // addr -> *Server

func srvLoop(t *testing.T, addr string) *reactor.Loop {
	v, _ := fairServers.Load(addr)
	return v.(*Server).rs.Loops()[0]
}
