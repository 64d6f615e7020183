package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// A handler that ends its goroutine with runtime.Goexit (t.FailNow in a test handler) has its
// connection closed, as net/http does, and takes nothing else down: on parked loops it ran on
// the loop goroutine itself, which a standby replaces; on locked loops its pool worker is
// counted out. Other connections are served, before and after.
func TestAdapterGoexit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/exit" {
				io.WriteString(w, "partial")
				runtime.Goexit()
			}
			io.WriteString(w, "ok")
		}), WithMaxHandlers(2))
		for i := range 5 {
			c := dial(t, addr)
			io.WriteString(c, "GET /exit HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("round %d: the connection hangs after a handler's Goexit (read %q)", i, got)
			}
			if len(got) > 0 {
				t.Fatalf("round %d: %q after a handler's Goexit, want the connection closed", i, got)
			}
			ok := dial(t, addr)
			io.WriteString(ok, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n")
			if rs := readResponses(t, bufio.NewReader(ok), 1); bodyString(rs[0]) != "ok" {
				t.Fatalf("round %d: other connection got %q", i, bodyString(rs[0]))
			}
		}
		// Five handlers ended their goroutines with WithMaxHandlers(2): the places came back.
		deadline := time.Now().Add(10 * time.Second)
		for s.cfg.pool.running() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d handlers still counted as running", s.cfg.pool.running())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// A HEAD request whose handler panics gets a 500 without a body (a pipelining client would read
// a body as the next response), then the connection closes.
func TestAdapterHeadPanicNoBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/p" {
				panic("boom")
			}
			io.WriteString(w, "ok")
		}))
		headPanicCloses(t, addr)
	})
}

// No 1xx response goes to an HTTP/1.0 client (RFC 9110 15.2): it would take it for the final one.
func TestAdapterNoInterimToHTTP10(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "ok")
		}))
		for _, proto := range []string{"HTTP/1.0", "HTTP/1.1"} {
			c := dial(t, addr)
			io.WriteString(c, "GET / "+proto+"\r\nHost: h\r\nConnection: close\r\n\r\n")
			raw, _ := io.ReadAll(bufio.NewReader(c))
			hints := len(raw) >= 12 && string(raw[9:12]) == "103"
			if proto == "HTTP/1.0" && hints || proto == "HTTP/1.1" && !hints {
				t.Fatalf("%s: response %q", proto, raw)
			}
		}
	})
}

// The fast path too: a HEAD request whose inline handler panics gets a 500 without a body.
func TestFastHeadPanicNoBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			if string(c.Path()) == "/p" {
				panic("boom")
			}
			c.WriteString("ok")
		})})
		headPanicCloses(t, addr)
	})
}

// headPanicCloses sends HEAD /p (whose handler panics) pipelined with GET /ok, and requires a
// 500 without a body, then the connection closed.
func headPanicCloses(t *testing.T, addr string) {
	t.Helper()
	c := dial(t, addr)
	io.WriteString(c, "HEAD /p HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\n\r\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, &http.Request{Method: "HEAD"})
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	if rest, _ := io.ReadAll(r); len(rest) > 0 {
		t.Fatalf("%q after the 500 to a HEAD request, want the connection closed", rest)
	}
}

// A HEAD response gets a Content-Length only from what its handler wrote or declared: a handler
// that wrote nothing may have left out a body it has (net/http sends no length either), and
// the connection stays open.
func TestAdapterHeadLength(t *testing.T) {
	_, addr := adapterServer(t, reactor.BackendAuto, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			io.WriteString(w, "hello")
		}
	}))
	c := dial(t, addr)
	io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\nHEAD /body HTTP/1.1\r\nHost: h\r\n\r\n")
	br := bufio.NewReader(c)
	for i, want := range []string{"", "5"} {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodHead})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if got := resp.Header.Get("Content-Length"); got != want || resp.Close {
			t.Fatalf("response %d: Content-Length %q (close %v), want %q and the connection kept", i, got, resp.Close, want)
		}
	}
}

// An HTTP/1.0 response whose body ends at the close (flushed before its length was known)
// reaches a pipelining client whole, with a clean EOF: the request the server will not answer
// does not turn the close into a reset (reactor: lingering close).
func TestAdapterCloseDelimitedBodyWithPipelinedRequest(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			w.Write(body)
		}))
		for round := range 3 {
			c := dial(t, addr)
			io.WriteString(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
			time.Sleep(10 * time.Millisecond)
			io.WriteString(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
			time.Sleep(50 * time.Millisecond)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("round %d: body of %d bytes (want %d), err %v", round, len(got), len(body), err)
			}
		}
	})
}
