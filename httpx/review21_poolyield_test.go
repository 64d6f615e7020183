package httpx

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestReview21PipelinedPoolYield: FromHTTP on one locked loop with an idle P (fewer loops than
// GOMAXPROCS; io_uring and epoll), 1,000 pipelined requests on one connection. Each request is
// handed to a pool worker and its response back to the loop. Counted per request: whether the
// handler ran while its loop had handed it its P (loopYield: the response then reaches the loop
// without a wake-up), or while the loop went on alone, when the worker first waits for a thief
// on the idle P (the runtime sleeps about 55 us before it steals a running P's runnext) and its
// response must wake the loop through the task queue and its eventfd. Before the fix the yield
// was on only with loops >= GOMAXPROCS: every request paid the wake-up (1,000 of 1,000), and
// the run took 47-72 ms against 18-21 ms with the yield (logged, not asserted).
func TestReview21PipelinedPoolYield(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2 (a loop fewer than Ps)")
	}
	for _, b := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		t.Run(string(b), func(t *testing.T) {
			var s *Server
			var wakeups atomic.Int64 // handlers that ran while their loop was not yielding
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				y := &s.yields[0]
				y.mu.Lock()
				inside := y.inside
				y.mu.Unlock()
				if !inside {
					wakeups.Add(1)
				}
				io.WriteString(w, "ok")
			})
			s = &Server{Handler: FromHTTP(h, WithWorkerIdleTimeout(time.Second)), Logger: quietLogger(),
				Reactor: []reactor.Option{reactor.WithParkedLoops(false), reactor.WithBackend(b), reactor.WithLoops(1)}}
			if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
				t.Skipf("backend %s: %v", b, err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			c := dial(t, s.Addr().String())
			const n = 1000
			var req bytes.Buffer
			for range n {
				req.WriteString("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			}
			br := bufio.NewReader(c)
			// A first round starts the worker; the second is counted.
			c.Write(req.Bytes()[:len(req.Bytes())/n])
			readResponses(t, br, 1)
			wakeups.Store(0)
			start := time.Now()
			if _, err := c.Write(req.Bytes()); err != nil {
				t.Fatal(err)
			}
			readResponses(t, br, n)
			got := wakeups.Load()
			t.Logf("%d requests in %v; %d of them handed back through a loop wake-up", n, time.Since(start), got)
			if got > n/2 {
				t.Fatalf("%d of %d pipelined requests ran while the loop went on without them (each paid a thief's sleep and a loop wake-up)", got, n)
			}
		})
	}
}
