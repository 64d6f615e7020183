package httpx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// forEachBackend runs f on the io_uring and the epoll backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b reactor.Backend)) {
	for _, b := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		t.Run(string(b), func(t *testing.T) { f(t, b) })
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer listens on 127.0.0.1:0 with backend b and serves in the background until the
// test ends. It returns the address.
func startServer(t testing.TB, b reactor.Backend, s *Server) string {
	t.Helper()
	s.Reactor = append(s.Reactor, reactor.WithBackend(b), reactor.WithLoops(2))
	if s.Logger == nil {
		s.Logger = quietLogger()
	}
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
	return s.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a hang fails the test instead of the run
	return c
}

func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// readResponses reads n responses from r (for the given request methods, nil: GET).
func readResponses(t *testing.T, r *bufio.Reader, n int) []*http.Response {
	t.Helper()
	var rs []*http.Response
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v", i, err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		rs = append(rs, resp)
	}
	return rs
}

func bodyString(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// expectClosed reads until EOF (or a reset) and fails if the server does not close.
func expectClosed(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("read: %v", err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("server did not close the connection; got %q", buf.String())
	}
	return buf.Bytes()
}

// TestConformanceE2E runs the shared conformance runner against the hello handler over real
// sockets, on both backends.
func TestConformanceE2E(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		runConformanceE2E(t, b, HandlerFunc(helloHandler))
	})
}

// TestConformanceE2EFromHTTP runs the shared conformance runner against a net/http hello handler
// through FromHTTP, on both backends. The runner half-closes after sending each case, and the
// handler does not read the body, so this covers answering after the client's EOF and holding
// a response until the body is validated.
func TestConformanceE2EFromHTTP(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		runConformanceE2E(t, b, FromHTTP(h))
	})
}

// runConformanceE2E serves h and requires run_http1.py to pass all cases.
func runConformanceE2E(t *testing.T, b reactor.Backend, h Handler) {
	dir := conformanceDir(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: cannot run run_http1.py")
	}
	s := &Server{Handler: h}
	addr := startServer(t, b, s)
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join(dir, "run_http1.py"), "--port", port,
		"--jobs", "8", "--summary", filepath.Join(t.TempDir(), "summary.json"))
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	t.Logf("%s: %s", b, last)
	if last != "300 passed, 0 failed" {
		t.Fatalf("run_http1.py (%v):\n%s", err, out)
	}
}

func TestKeepAliveRealSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(echoPath)}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		r := bufio.NewReader(c)
		for i := 0; i < 20; i++ {
			fmt.Fprintf(c, "GET /k%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
			rs := readResponses(t, r, 1)
			if got := bodyString(rs[0]); got != fmt.Sprintf("/k%d", i) || rs[0].Close {
				t.Fatalf("request %d: %q close=%v", i, got, rs[0].Close)
			}
		}
		// The standard client reuses the connection.
		client := newClient(t)
		for i := 0; i < 5; i++ {
			resp, err := client.Get("http://" + addr + "/c")
			if err != nil {
				t.Fatal(err)
			}
			if got := bodyString(resp); got != "/c" || resp.StatusCode != 200 {
				t.Fatalf("%d %q", resp.StatusCode, got)
			}
			resp.Body.Close()
		}
		if n := s.NumConns(); n != 2 {
			t.Fatalf("%d connections open, want 2 (one raw, one reused by the client)", n)
		}
	})
}

func TestPipeliningRealSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(echoPath)}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		var req bytes.Buffer
		for i := 0; i < 64; i++ {
			fmt.Fprintf(&req, "POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", i, len(fmt.Sprint(i)), fmt.Sprint(i))
		}
		go c.Write(req.Bytes())
		rs := readResponses(t, bufio.NewReader(c), 64)
		for i, r := range rs {
			if got, want := bodyString(r), fmt.Sprintf("/p%d:%d", i, i); got != want {
				t.Fatalf("response %d: %q, want %q", i, got, want)
			}
		}
	})
}

func TestBadRequestClosesRealSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(echoPath)}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /bad HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
		out := expectClosed(t, c)
		rs := readResponses(t, bufio.NewReader(bytes.NewReader(out)), 2)
		if rs[0].StatusCode != 200 || rs[1].StatusCode != 400 || !rs[1].Close || strings.Contains(string(out), "smuggled") {
			t.Fatalf("got %q", out)
		}
	})
}

func TestLimitsRealSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(echoPath), MaxBodyBytes: 1000, MaxHeaderBytes: 200, MaxHeaderCount: 5}
		addr := startServer(t, b, s)
		for _, tc := range []struct {
			req    string
			status int
		}{
			{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", 413},
			{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n", 413},
			{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 300) + "\r\n\r\n", 431},
			{"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n", 431},
		} {
			c := dial(t, addr)
			io.WriteString(c, tc.req)
			out := expectClosed(t, c)
			if !strings.HasPrefix(string(out), fmt.Sprintf("HTTP/1.1 %d ", tc.status)) {
				t.Fatalf("%q: got %q", tc.req, out)
			}
		}
	})
}

func TestTimeoutsRealSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{
			Handler:           HandlerFunc(echoPath),
			ReadHeaderTimeout: 200 * time.Millisecond,
			ReadTimeout:       200 * time.Millisecond,
			IdleTimeout:       200 * time.Millisecond,
		}
		addr := startServer(t, b, s)

		// Slowloris: a head trickled one byte at a time is cut off although bytes keep coming.
		c := dial(t, addr)
		stop := make(chan struct{})
		go func() {
			for _, ch := range []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 1000)) {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := c.Write([]byte{ch}); err != nil {
					return
				}
			}
		}()
		if out := expectClosed(t, c); len(out) != 0 {
			t.Fatalf("slowloris got a response: %q", out)
		}
		close(stop)

		// Body that never completes.
		c = dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
		if out := expectClosed(t, c); len(out) != 0 {
			t.Fatalf("partial body got a response: %q", out)
		}

		// Idle keep-alive connection after a response.
		c = dial(t, addr)
		io.WriteString(c, "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
		out := expectClosed(t, c)
		rs := readResponses(t, bufio.NewReader(bytes.NewReader(out)), 1)
		if bodyString(rs[0]) != "/idle" {
			t.Fatalf("got %q", out)
		}
	})
}

func TestWriteTimeoutRealSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		big := bytes.Repeat([]byte("w"), 32<<20)
		s := &Server{Handler: HandlerFunc(func(c *Ctx) { c.SetBody(big) }), WriteTimeout: 500 * time.Millisecond}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		// Read one byte (the response is queued, the deadline armed), then nothing until the
		// server must have given up; then drain what was sent.
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for s.NumConns() > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if s.NumConns() != 0 {
			t.Fatal("connection with a stalled reader not closed by WriteTimeout")
		}
		n, _ := io.Copy(io.Discard, c)
		if n >= int64(len(big)) {
			t.Fatalf("got the whole %d-byte response", n)
		}
	})
}

func TestMaxConnsRefusal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(echoPath), MaxConns: 1}
		addr := startServer(t, b, s)
		c1 := dial(t, addr)
		io.WriteString(c1, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
		r1 := bufio.NewReader(c1)
		readResponses(t, r1, 1)
		c2 := dial(t, addr)
		out := expectClosed(t, c2)
		if !strings.HasPrefix(string(out), "HTTP/1.1 503 ") || !strings.Contains(string(out), "Connection: close") {
			t.Fatalf("got %q", out)
		}
		// The first connection still works, and a slot frees up once it closes.
		io.WriteString(c1, "GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if rs := readResponses(t, r1, 1); bodyString(rs[0]) != "/two" {
			t.Fatal("first connection broken")
		}
		deadline := time.Now().Add(10 * time.Second)
		for s.NumConns() != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		c3 := dial(t, addr)
		io.WriteString(c3, "GET /three HTTP/1.1\r\nHost: x\r\n\r\n")
		if rs := readResponses(t, bufio.NewReader(c3), 1); bodyString(rs[0]) != "/three" {
			t.Fatal("no connection accepted after the slot freed")
		}
	})
}

// TestMaxConnsConcurrent connects many clients at once to two loops accepting in parallel:
// exactly MaxConns are served, every other one gets the 503, and none is left without an answer.
func TestMaxConnsConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const limit, total = 20, 100
		s := &Server{Handler: HandlerFunc(echoPath), MaxConns: limit}
		addr := startServer(t, b, s)
		status := make([]int, total)
		conns := make([]net.Conn, total)
		var wg sync.WaitGroup
		for i := range total {
			conns[i] = dial(t, addr)
		}
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					status[i] = resp.StatusCode
				}
			}()
		}
		wg.Wait()
		var ok, refused int
		for i, st := range status {
			switch st {
			case 200:
				ok++
			case 503:
				refused++
			default:
				t.Fatalf("conn %d: status %d", i, st)
			}
		}
		if ok != limit || refused != total-limit || s.NumConns() != limit {
			t.Fatalf("%d served, %d refused, NumConns %d; want %d, %d, %d", ok, refused, s.NumConns(), limit, total-limit, limit)
		}
	})
}

func TestServerErrors(t *testing.T) {
	var s Server
	if err := s.Listen("tcp", "127.0.0.1:0"); err != ErrNoHandler {
		t.Fatalf("nil handler: %v", err)
	}
	if err := (&Server{}).Serve(); err == nil {
		t.Fatal("Serve without Listen succeeded")
	}
	s2 := &Server{Handler: HandlerFunc(echoPath), Logger: quietLogger()}
	if err := s2.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Listen("tcp", "127.0.0.1:0"); err == nil {
		t.Fatal("second Listen succeeded")
	}
}
