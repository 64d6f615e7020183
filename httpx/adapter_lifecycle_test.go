package httpx

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// waitGoroutines waits (bounded) until at most max goroutines run: a goroutine that signalled
// its exit may still be finishing its last instructions when Close returns. It fails with a dump
// of the goroutines otherwise.
func waitGoroutines(t *testing.T, max int) {
	t.Helper()
	n := 0
	for i := 0; i < 200; i++ {
		if n = runtime.NumGoroutine(); n <= max {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	var sb strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&sb, 1)
	t.Fatalf("%d goroutines remain, want at most %d:\n%s", n, max, sb.String())
}

// lifecycleServer starts a FromHTTP server with the default worker idle timeout (10 s, far
// longer than the test), so lingering pool goroutines would be seen. The caller stops it.
func lifecycleServer(t *testing.T, b reactor.Backend, h http.Handler, opts ...AdapterOption) (*Server, string) {
	t.Helper()
	return lifecycleServerReactor(t, b, nil, h, opts...)
}

// lifecycleServerReactor is lifecycleServer with extra reactor options (after the backend's).
func lifecycleServerReactor(t *testing.T, b reactor.Backend, ropts []reactor.Option, h http.Handler, opts ...AdapterOption) (*Server, string) {
	t.Helper()
	s := &Server{Handler: FromHTTP(h, opts...), Logger: quietLogger(),
		Reactor: append([]reactor.Option{reactor.WithBackend(b), reactor.WithLoops(2)}, ropts...)}
	if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
		if errors.Is(err, reactor.ErrBackendUnavailable) {
			t.Skipf("backend %s unavailable: %v", b, err)
		}
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s, s.Addr().String()
}

// busyPool serves n requests at once on n connections (several pool workers start) and leaves
// the connections open and idle.
func busyPool(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c := dial(t, addr)
		io.WriteString(c, "GET /work HTTP/1.1\r\nHost: x\r\n\r\n")
		conns = append(conns, c)
	}
	for _, c := range conns {
		readResponses(t, bufio.NewReader(c), 1)
	}
	return conns
}

func TestAdapterCloseStopsWorkers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		before := runtime.NumGoroutine()
		started := make(chan struct{}, 1)
		cancelled := make(chan struct{}, 1)
		s, addr := lifecycleServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/block" {
				started <- struct{}{}
				<-r.Context().Done() // a handler that honours its context
				cancelled <- struct{}{}
				return
			}
			time.Sleep(10 * time.Millisecond) // overlap: several workers run at once
			io.WriteString(w, "ok")
		}))
		conns := busyPool(t, addr, 8)
		// On epoll (parked loops) the handlers ran on the loops (Loop.Go) and have returned;
		// io_uring's locked loops handed them to pool workers, which wait for more.
		if n := s.cfg.pool.running(); n < 2 && b == reactor.BackendUring {
			t.Fatalf("%d pool workers after concurrent requests, want several", n)
		}
		blocked := dial(t, addr)
		io.WriteString(blocked, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		<-started
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-cancelled:
		default:
			t.Fatal("Close returned before the running handler saw its context cancelled")
		}
		if n := s.cfg.pool.running(); n != 0 {
			t.Fatalf("%d pool workers after Close", n)
		}
		for _, c := range append(conns, blocked) {
			c.Close()
		}
		waitGoroutines(t, before)
	})
}

func TestAdapterShutdownStopsWorkers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		before := runtime.NumGoroutine()
		started := make(chan struct{})
		release := make(chan struct{})
		s, addr := lifecycleServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(started)
				<-release
			}
			io.WriteString(w, "done")
		}))
		conns := busyPool(t, addr, 4)
		busy := dial(t, addr)
		io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		<-started
		var wg sync.WaitGroup
		var err error
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = s.Shutdown(ctx)
		}()
		close(release)
		rs := readResponses(t, bufio.NewReader(busy), 1)
		if bodyString(rs[0]) != "done" {
			t.Fatalf("in-flight response %+v", rs[0])
		}
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if n := s.cfg.pool.running(); n != 0 {
			t.Fatalf("%d pool workers after Shutdown", n)
		}
		for _, c := range append(conns, busy) {
			c.Close()
		}
		waitGoroutines(t, before)
	})
}

// A handler that ignores its context cannot be stopped: Close returns after the close wait, and
// the worker exits as soon as the handler returns.
func TestAdapterCloseWaitBound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		before := runtime.NumGoroutine()
		started := make(chan struct{})
		release := make(chan struct{})
		s, addr := lifecycleServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release // ignores r.Context()
		}), WithCloseWait(50*time.Millisecond))
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		<-started
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n := s.cfg.pool.running(); n != 1 {
			t.Fatalf("%d pool workers after Close with a stuck handler, want 1", n)
		}
		close(release)
		c.Close()
		n := 1
		for i := 0; i < 200 && n != 0; i++ {
			if n = s.cfg.pool.running(); n != 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if n != 0 {
			t.Fatalf("%d pool workers after the handler returned", n)
		}
		waitGoroutines(t, before)
	})
}

// Idle pool goroutines exit after the worker idle timeout (between one and two timeouts). The
// loops are locked to their threads on both backends, so the handlers run on pool workers.
func TestAdapterIdleWorkersExit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s, addr := lifecycleServerReactor(t, b, []reactor.Option{reactor.WithParkedLoops(false)}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(5 * time.Millisecond)
			io.WriteString(w, "ok")
		}), WithWorkerIdleTimeout(20*time.Millisecond))
		defer s.Close()
		busyPool(t, addr, 4)
		if n := s.cfg.pool.running(); n == 0 {
			t.Fatal("no pool workers after requests")
		}
		n := -1
		for i := 0; i < 400 && n != 0; i++ {
			if n = s.cfg.pool.running(); n != 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if n != 0 {
			t.Fatalf("%d idle pool workers still running", n)
		}
		// The pool still serves after its workers retired.
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if rs := readResponses(t, bufio.NewReader(c), 1); bodyString(rs[0]) != "ok" {
			t.Fatalf("after retirement: %+v", rs[0])
		}
	})
}

// WithMaxHandlers over real connections on both paths (parked loops running handlers
// themselves, locked loops with pool workers): one handler runs, one request waits in the queue,
// the next is refused with 503; when the running handler returns, the queued request is served.
func TestAdapterMaxHandlersQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		release := make(chan struct{})
		started := make(chan string, 3)
		s, addr := lifecycleServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			started <- r.URL.Path
			if r.URL.Path == "/first" {
				<-release
			}
			io.WriteString(w, r.URL.Path)
		}), WithMaxHandlers(1))
		defer s.Close()
		queued := func() int {
			s.cfg.pool.mu.Lock()
			defer s.cfg.pool.mu.Unlock()
			return len(s.cfg.pool.queue)
		}
		first, second, third := dial(t, addr), dial(t, addr), dial(t, addr)
		io.WriteString(first, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
		if p := <-started; p != "/first" {
			t.Fatalf("started %s", p)
		}
		io.WriteString(second, "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
		for i := 0; i < 1000 && queued() == 0; i++ {
			time.Sleep(time.Millisecond)
		}
		if n := queued(); n != 1 {
			t.Fatalf("%d queued, want the second request", n)
		}
		io.WriteString(third, "GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
		if rs := readResponses(t, bufio.NewReader(third), 1); rs[0].StatusCode != 503 {
			t.Fatalf("third: %d, want 503", rs[0].StatusCode)
		}
		close(release)
		for _, c := range []struct {
			conn net.Conn
			want string
		}{{first, "/first"}, {second, "/second"}} {
			c.conn.SetDeadline(time.Now().Add(10 * time.Second))
			rs := readResponses(t, bufio.NewReader(c.conn), 1)
			if rs[0].StatusCode != 200 || bodyString(rs[0]) != c.want {
				t.Fatalf("%s: %d %q", c.want, rs[0].StatusCode, bodyString(rs[0]))
			}
		}
	})
}
