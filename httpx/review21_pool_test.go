package httpx

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// poolJob is a FromHTTP request that runs h on a memConn, for tests of the pool alone.
func poolJob(a *Adapter, path string) *asyncReq {
	m := newMemConn(testConfig(a))
	return &asyncReq{e: m.e, t: m, a: a, req: httptest.NewRequest("GET", path, nil)}
}

// The pool's reaper retires an idle worker while every place is taken (max 1: the idle worker
// holds it). A job submitted after the reaper told the worker to exit, but before the worker
// goroutine got to run, finds no idle worker and no free place and is queued; the worker then
// exits without looking at the queue, and nothing starts the queued job until another request
// frees a place: the request hangs. GOMAXPROCS(1) makes the order deterministic (the worker
// cannot run between reap and submit); with more Ps it is a race between the reaper's timer
// goroutine and a loop's submit.
func TestReview21PoolReapStrandsQueuedJob(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ran := make(chan string, 4)
	a := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran <- r.URL.Path
	}))
	p := newPool(1, time.Hour) // the test calls reap itself
	defer p.stop(t.Context())
	if !p.submit(poolJob(a, "/first")) {
		t.Fatal("first job refused")
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("first job did not run")
	}
	idle := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.free)
	}
	for i := 0; i < 5000 && idle() == 0; i++ {
		time.Sleep(time.Millisecond)
	}
	if idle() != 1 {
		t.Fatal("worker not idle")
	}
	p.reap() // epoch 1: the worker went idle in epoch 0, it stays
	p.reap() // epoch 2: the worker is told to exit
	if !p.submit(poolJob(a, "/second")) {
		t.Fatal("second job refused")
	}
	select {
	case got := <-ran:
		if got != "/second" {
			t.Fatalf("ran %s", got)
		}
	case <-time.After(2 * time.Second):
		p.mu.Lock()
		q, w := len(p.queue), p.workers
		p.mu.Unlock()
		t.Fatalf("the queued job never ran (%d queued, %d workers)", q, w)
	}
}

// syncMem is a memConn whose loop runs a func from another goroutine at once, on the caller: the
// interleaving in which the loop takes a handler goroutine's delivery before that goroutine does
// anything else (it was descheduled right after its Execute woke the loop).
type syncMem struct{ *memConn }

func (s syncMem) execute(f func()) bool { f(); return true }

func newSyncMem(cfg *config) *memConn {
	m := &memConn{}
	m.e = newEngine(cfg, syncMem{m}, newLoopCache(time.Unix(1700000000, 0)))
	return m
}

// WithMaxHandlers(1): one handler runs, one request may wait. Connection A pipelines two
// requests, connection B sends one while A's first handler runs (B's waits in the queue). When
// A's handler returns, the pool worker hands the final delivery to the loop first and only then
// gives its place back (takes B's job). If the loop runs the delivery before that (the worker
// was descheduled), A's second request finds max handlers "running" and the queue full: 503 and
// A is closed, with one handler done and one request queued, within the documented bound.
// Seen over real sockets too (TestReview21PoolManyConns, rarely, on a loaded machine).
func TestReview21PoolDeliveryBeforePlaceFree(t *testing.T) {
	release := make(chan struct{})
	a := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a1" {
			<-release
		}
		io.WriteString(w, r.URL.Path)
	}), WithMaxHandlers(1))
	cfg := testConfig(a)
	defer cfg.pool.stop(t.Context())
	ca, cb := newSyncMem(cfg), newSyncMem(cfg)
	ca.e.feed([]byte("GET /a1 HTTP/1.1\r\nHost: x\r\n\r\nGET /a2 HTTP/1.1\r\nHost: x\r\n\r\n"))
	cb.e.feed([]byte("GET /b1 HTTP/1.1\r\nHost: x\r\n\r\n"))
	cfg.pool.mu.Lock()
	q := len(cfg.pool.queue)
	cfg.pool.mu.Unlock()
	if q != 1 {
		t.Fatalf("%d queued, want b1", q)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (strings.Count(ca.output(), "HTTP/1.1") < 2 ||
		strings.Count(cb.output(), "HTTP/1.1") < 1) {
		time.Sleep(time.Millisecond)
	}
	rs, rest := parseResponses([]byte(ca.output()), nil)
	if len(rs) != 2 || statuses(rs)[0] != 200 || statuses(rs)[1] != 200 || rest != "" {
		t.Fatalf("connection A got %v (closed %v):\n%s", statuses(rs), ca.isClosed(), ca.output())
	}
	if !strings.Contains(cb.output(), "/b1") {
		t.Fatalf("connection B got %q", cb.output())
	}
}

// WithMaxHandlers(4) and 8 connections, each pipelining 10 requests: at most 8 requests are in
// the server at once (one per connection), within max running plus max queued, so none may be
// refused. Before the fix a connection now and then got a 503 (1 run in about 40 here): its
// next request reached the pool while the worker that had just delivered its response still
// held its place (see TestReview21PoolDeliveryBeforePlaceFree).
func TestReview21PoolManyConns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(2 * time.Millisecond)
			io.WriteString(w, r.URL.Path)
		}), WithMaxHandlers(4))
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(15 * time.Second))
				var sb strings.Builder
				for j := 0; j < 10; j++ {
					fmt.Fprintf(&sb, "GET /%d/%d HTTP/1.1\r\nHost: x\r\n\r\n", i, j)
				}
				io.WriteString(c, sb.String())
				br := bufio.NewReader(c)
				for j := 0; j < 10; j++ {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Errorf("conn %d resp %d: %v", i, j, err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					if string(body) != fmt.Sprintf("/%d/%d", i, j) {
						t.Errorf("conn %d resp %d: %d %q", i, j, resp.StatusCode, body)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
}
