package httpx

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// adapterServer starts a Server running h through FromHTTP.
func adapterServer(t *testing.T, b reactor.Backend, h http.Handler, opts ...AdapterOption) (*Server, string) {
	opts = append([]AdapterOption{WithWorkerIdleTimeout(50 * time.Millisecond)}, opts...)
	s := &Server{Handler: FromHTTP(h, opts...)}
	return s, startServer(t, b, s)
}

func TestAdapterRequestFields(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		type seen struct {
			method, uri, host, proto, remote, path, query, hdr string
			tls                                                bool
			cl                                                 int64
			local                                              net.Addr
		}
		got := make(chan seen, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- seen{r.Method, r.RequestURI, r.Host, r.Proto, r.RemoteAddr, r.URL.Path, r.URL.RawQuery,
				r.Header.Get("X-Test"), r.TLS != nil, r.ContentLength,
				r.Context().Value(http.LocalAddrContextKey).(net.Addr)}
			w.Header().Set("X-Reply", "yes")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "created")
		}))
		c := dial(t, addr)
		io.WriteString(c, "PUT /a/b?c=d HTTP/1.1\r\nHost: example.org:81\r\nx-test: v\r\nContent-Length: 0\r\n\r\n")
		rs := readResponses(t, bufio.NewReader(c), 1)
		s := <-got
		if rs[0].StatusCode != 201 || bodyString(rs[0]) != "created" || rs[0].Header.Get("X-Reply") != "yes" ||
			rs[0].ContentLength != 7 {
			t.Fatalf("response %+v", rs[0])
		}
		want := seen{"PUT", "/a/b?c=d", "example.org:81", "HTTP/1.1", c.LocalAddr().String(), "/a/b", "c=d", "v", false, 0,
			c.RemoteAddr()}
		if s.local.String() != want.local.String() {
			t.Fatalf("local addr %v, want %v", s.local, want.local)
		}
		s.local, want.local = nil, nil
		if s != want {
			t.Fatalf("request seen as %+v\nwant %+v", s, want)
		}
	})
}

// TestAdapterStreamingBody uploads a large chunked body that the handler reads slowly, and
// checks every byte arrives (the loop pauses reading while the handler lags).
func TestAdapterStreamingBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := sha256.New()
			buf := make([]byte, 1000)
			n := int64(0)
			for {
				k, err := r.Body.Read(buf)
				h.Write(buf[:k])
				n += int64(k)
				if err == io.EOF {
					break
				}
				if err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
			}
			fmt.Fprintf(w, "%d %x %s", n, h.Sum(nil), r.Trailer.Get("X-Trailer"))
		}))
		body := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
		pr, pw := io.Pipe()
		go func() {
			for off := 0; off < len(body); off += 50000 {
				pw.Write(body[off:min(off+50000, len(body))])
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", "http://"+addr+"/upload", pr)
		req.ContentLength = -1
		req.Trailer = http.Header{"X-Trailer": {"tv"}} // sent after the chunked body
		resp, err := newClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		want := fmt.Sprintf("%d %x tv", len(body), sha256.Sum256(body))
		if got := bodyString(resp); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// TestAdapterBodyBackpressure checks in memory that a handler that does not read makes the
// engine pause reading, and that reading resumes when it does.
func TestAdapterBodyBackpressure(t *testing.T) {
	proceed := make(chan struct{})
	got := make(chan int, 1)
	a := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-proceed
		n, _ := io.Copy(io.Discard, r.Body)
		got <- int(n)
	}), WithBodyBuffer(1000), WithWorkerIdleTimeout(20*time.Millisecond))
	m := newMemConn(testConfig(a))
	m.startLoop(t)
	const size = 20000
	m.onLoop(func() {
		m.e.feed([]byte(fmt.Sprintf("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", size)))
	})
	chunk := bytes.Repeat([]byte("x"), 500)
	for i := 0; i < size/len(chunk); i++ {
		m.onLoop(func() { m.e.feed(chunk) })
	}
	var paused bool
	m.onLoop(func() { paused = m.paused })
	if !paused {
		t.Fatal("reading not paused while the handler does not read")
	}
	close(proceed)
	if n := <-got; n != size {
		t.Fatalf("handler read %d of %d", n, size)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(m.output(), "200 OK") {
		time.Sleep(time.Millisecond)
	}
	m.onLoop(func() { paused = m.paused })
	if paused || !strings.Contains(m.output(), "Content-Length: 0") || m.isClosed() {
		t.Fatalf("paused=%v closed=%v output %q", paused, m.isClosed(), m.output())
	}
}

func TestAdapterFlushStreams(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		proceed := make(chan struct{})
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "part1")
			w.(http.Flusher).Flush()
			<-proceed
			io.WriteString(w, "part2")
		}))
		resp, err := newClient(t).Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		first := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "part1" {
			t.Fatalf("first part %q %v", first, err)
		}
		close(proceed) // part1 arrived while the handler still ran: it was streamed
		rest, _ := io.ReadAll(resp.Body)
		if string(rest) != "part2" || resp.TransferEncoding[0] != "chunked" {
			t.Fatalf("rest %q te %v", rest, resp.TransferEncoding)
		}
	})
}

func TestAdapterPanic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/panic":
				io.WriteString(w, "not sent")
				panic("boom")
			case "/late":
				io.WriteString(w, "sent")
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
			io.WriteString(w, "ok")
		}))
		c := dial(t, addr)
		io.WriteString(c, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
		out := expectClosed(t, c)
		rs := readResponses(t, bufio.NewReader(bytes.NewReader(out)), 1)
		if rs[0].StatusCode != 500 || !rs[0].Close || strings.Contains(string(out), "not sent") || strings.Count(string(out), "HTTP/1.1") != 1 {
			t.Fatalf("got %q", out)
		}
		c = dial(t, addr)
		io.WriteString(c, "GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
		out = expectClosed(t, c)
		if !strings.HasPrefix(string(out), "HTTP/1.1 200 OK") || strings.HasSuffix(string(out), "0\r\n\r\n") {
			t.Fatalf("aborted response looks complete: %q", out)
		}
		// Other connections are unaffected.
		resp, err := newClient(t).Get("http://" + addr + "/ok")
		if err != nil || bodyString(resp) != "ok" {
			t.Fatalf("%v", err)
		}
		resp.Body.Close()
	})
}

// TestAdapterPipelinedOrder sends pipelined requests whose handlers finish in reverse order of
// arrival if run concurrently; responses must still come in request order.
func TestAdapterPipelinedOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var i int
			fmt.Sscanf(r.URL.Path, "/%d", &i)
			time.Sleep(time.Duration(10-i) * time.Millisecond)
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%d:%s", i, body)
		}))
		c := dial(t, addr)
		var req bytes.Buffer
		for i := 0; i < 10; i++ {
			if i%2 == 0 {
				fmt.Fprintf(&req, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
			} else {
				fmt.Fprintf(&req, "POST /%d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n", i)
			}
		}
		c.Write(req.Bytes())
		rs := readResponses(t, bufio.NewReader(c), 10)
		for i, r := range rs {
			want := fmt.Sprintf("%d:", i)
			if i%2 == 1 {
				want += "b"
			}
			if got := bodyString(r); got != want {
				t.Fatalf("response %d = %q, want %q", i, got, want)
			}
		}
	})
}

func TestAdapterContextCancelledOnDisconnect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		started := make(chan struct{})
		cancelled := make(chan error, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			select {
			case <-r.Context().Done():
				cancelled <- r.Context().Err()
			case <-time.After(20 * time.Second):
				cancelled <- nil
			}
		}))
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		<-started
		c.Close()
		if err := <-cancelled; err != context.Canceled {
			t.Fatalf("context: %v", err)
		}
	})
}

func TestAdapterResponseFraming(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		big := strings.Repeat("B", 10000)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/small":
				io.WriteString(w, "<html>small</html>")
			case "/big":
				io.WriteString(w, big)
			case "/declared":
				w.Header().Set("Content-Length", "5")
				io.WriteString(w, "12345")
			case "/trailer":
				w.Header().Set("Trailer", "X-Sum")
				io.WriteString(w, "data")
				w.Header().Set("X-Sum", "42")
			case "/nocontent":
				w.WriteHeader(204)
			case "/flushed":
				io.WriteString(w, "x")
				w.(http.Flusher).Flush()
				io.WriteString(w, "y")
			}
		}))
		c := dial(t, addr)
		io.WriteString(c, "GET /small HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n"+
			"GET /declared HTTP/1.1\r\nHost: x\r\n\r\nGET /trailer HTTP/1.1\r\nHost: x\r\n\r\n"+
			"GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\nHEAD /small HTTP/1.1\r\nHost: x\r\n\r\n"+
			"HEAD /flushed HTTP/1.1\r\nHost: x\r\n\r\nGET /flushed HTTP/1.1\r\nHost: x\r\n\r\n"+
			"GET /small HTTP/1.0\r\n\r\n")
		r := bufio.NewReader(c)
		var rs []*http.Response
		for _, m := range []string{"GET", "GET", "GET", "GET", "GET", "HEAD", "HEAD", "GET", "GET"} {
			resp, err := http.ReadResponse(r, &http.Request{Method: m})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			rs = append(rs, resp)
		}
		check := func(i int, ok bool) {
			if !ok {
				t.Fatalf("response %d: %+v", i, rs[i])
			}
		}
		check(0, rs[0].ContentLength == 18 && rs[0].Header.Get("Content-Type") == "text/html; charset=utf-8")
		check(1, rs[1].ContentLength == -1 && rs[1].TransferEncoding[0] == "chunked" && bodyString(rs[1]) == big)
		check(2, rs[2].ContentLength == 5 && bodyString(rs[2]) == "12345")
		check(3, bodyString(rs[3]) == "data" && rs[3].Trailer.Get("X-Sum") == "42")
		check(4, rs[4].StatusCode == 204)
		check(5, rs[5].ContentLength == 18 && bodyString(rs[5]) == "")
		check(6, rs[6].StatusCode == 200 && bodyString(rs[6]) == "")
		check(7, bodyString(rs[7]) == "xy" && rs[7].TransferEncoding[0] == "chunked")
		check(8, rs[8].Close && bodyString(rs[8]) == "<html>small</html>")
		expectClosed(t, c)
	})
}

func TestAdapterExpectContinue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Write(body)
		}))
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("%q %v", line, err)
		}
		r.ReadString('\n')
		io.WriteString(c, "hello")
		if rs := readResponses(t, r, 1); bodyString(rs[0]) != "hello" {
			t.Fatal("body not echoed")
		}
	})
}

func TestAdapterQueueFull(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	a := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { started <- struct{}{}; <-release }),
		WithMaxHandlers(1), WithWorkerIdleTimeout(20*time.Millisecond))
	cfg := testConfig(a)
	var ms []*memConn
	for i := 0; i < 3; i++ {
		m := newMemConn(cfg)
		m.startLoop(t)
		m.onLoop(func() { m.e.feed([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")) })
		ms = append(ms, m)
		if i == 0 {
			<-started // the worker took the first job: the queue is empty
		}
	}
	// One runs, one waits in the queue, the third is refused.
	if out := ms[2].output(); !strings.HasPrefix(out, "HTTP/1.1 503 ") || !ms[2].isClosed() {
		t.Fatalf("third: %q", out)
	}
	close(release)
	for _, m := range ms[:2] {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && !strings.Contains(m.output(), "200 OK") {
			time.Sleep(time.Millisecond)
		}
		if !strings.HasPrefix(m.output(), "HTTP/1.1 200 OK") {
			t.Fatalf("got %q", m.output())
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		started := make(chan struct{})
		release := make(chan struct{})
		s, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(started)
				<-release
			}
			io.WriteString(w, "done")
		}))
		idle := dial(t, addr)
		io.WriteString(idle, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
		readResponses(t, bufio.NewReader(idle), 1)
		busy := dial(t, addr)
		io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		<-started
		var wg sync.WaitGroup
		var shutdownErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			shutdownErr = s.Shutdown(ctx)
		}()
		if out := expectClosed(t, idle); len(out) != 0 {
			t.Fatalf("idle connection got %q", out)
		}
		close(release)
		out := expectClosed(t, busy)
		rs := readResponses(t, bufio.NewReader(bytes.NewReader(out)), 1)
		if bodyString(rs[0]) != "done" || !rs[0].Close {
			t.Fatalf("in-flight response %q", out)
		}
		wg.Wait()
		if shutdownErr != nil {
			t.Fatal(shutdownErr)
		}
		if _, err := net.Dial("tcp", addr); err == nil {
			t.Fatal("still accepting after Shutdown")
		}
	})
}
