package httpx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Found by a review helper (session 12); each failed before its fix.

// A malformed chunked body found after the handler flushed its response ends the connection:
// the bytes after the bad chunk are not a request (before, they were served as one).
func TestAdapterBadChunkAfterFlushCloses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		bodyErr := make(chan error, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/smuggled" {
				io.WriteString(w, "SMUGGLED")
				return
			}
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			_, err := io.ReadAll(r.Body)
			bodyErr <- err
		}))
		c := dial(t, addr)
		br := bufio.NewReader(c)
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "zz\r\n") // not a chunk size
		select {
		case err := <-bodyErr:
			if err == nil {
				t.Fatal("Body.Read accepted a malformed chunk")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the handler never saw the body error")
		}
		io.ReadAll(resp.Body)
		io.WriteString(c, "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		rest, err := io.ReadAll(br)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) { // reset: the request went unread
			t.Fatalf("the connection was not closed after a malformed body: %v", err)
		}
		if strings.Contains(string(rest), "SMUGGLED") {
			t.Fatalf("bytes after a malformed chunked body were served as a request: %q", rest)
		}
	})
}

// A 1xx interim response does not start the response: a 100 Continue still goes out when the
// handler reads the body (as net/http sends it after a 103), and a malformed body still gets
// its 400 and a close, not the handler's 200.
func TestAdapterInterimResponse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			body, _ := io.ReadAll(r.Body) // the error ignored, as many handlers do
			w.Write(body)
		}))

		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var head strings.Builder
		for !strings.Contains(head.String(), "HTTP/1.1 100 Continue\r\n\r\n") {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				t.Fatalf("no 100 Continue after a 103 (the handler reads the body): %q, %v", head.String(), err)
			}
		}
		if !strings.HasPrefix(head.String(), "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n") {
			t.Fatalf("interim responses %q", head.String())
		}
		io.WriteString(c, "hello")
		if rs := readResponses(t, br, 1); rs[0].StatusCode != 200 || bodyString(rs[0]) != "hello" {
			t.Fatalf("after 103 and 100: %d %q", rs[0].StatusCode, bodyString(rs[0]))
		}

		c = dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("not closed after a malformed body: %v (%q)", err, out)
		}
		if !strings.Contains(string(out), "HTTP/1.1 400 ") || strings.Contains(string(out), "200 OK") {
			t.Fatalf("a malformed chunked body after a 103: %q", out)
		}
	})
}

// A client that sends a whole request and half-closes: the handler that has not read the body
// yet reads all of it, and its Context is not cancelled before it has (net/http notices the EOF
// only after the body was read). Before, the Context was cancelled at once, and on io_uring a
// body larger than the body buffer, paused with its rest in the engine, failed with "client
// disconnected" (20 of 20 connections).
func TestAdapterHalfCloseAfterBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		res := make(chan string, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
				res <- "cancelled"
			case <-time.After(300 * time.Millisecond):
				res <- "not cancelled"
			}
			body, err := io.ReadAll(r.Body)
			w.Write(append(body, errString(err)...))
		}))
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
		c.(*net.TCPConn).CloseWrite()
		if got := <-res; got != "not cancelled" {
			t.Errorf("the Context was %s at the half-close, before the handler read the body", got)
		}
		if rs := readResponses(t, bufio.NewReader(c), 1); rs[0].StatusCode != 200 || bodyString(rs[0]) != "abc<nil>" {
			t.Errorf("response %d %q", rs[0].StatusCode, bodyString(rs[0]))
		}

		const chunk, chunks = 1000, 10
		_, addr = adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(20 * time.Millisecond) // the whole request and the EOF are in by now
			n, err := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d %v", n, err)
		}), WithBodyBuffer(chunk))
		var sb strings.Builder
		sb.WriteString("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		for range chunks {
			fmt.Fprintf(&sb, "%x\r\n%s\r\n", chunk, strings.Repeat("c", chunk))
		}
		sb.WriteString("0\r\n\r\n")
		want := fmt.Sprintf("%d <nil>", chunk*chunks)
		for i := range 20 {
			c := dial(t, addr)
			io.WriteString(c, sb.String())
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("conn %d: %v", i, err)
			}
			if got := bodyString(resp); resp.StatusCode != 200 || got != want {
				t.Fatalf("conn %d: the handler read %d %q of a whole chunked body sent before a half-close", i, resp.StatusCode, got)
			}
			c.Close()
		}
	})
}

// IdleTimeout does not end a request in progress whose pause its phase's own timeout allows:
// a head with ReadHeaderTimeout, a body with ReadTimeout (FromHTTP and fast path), a client
// waiting for 100 Continue while the handler takes its time. Before, each was closed after
// IdleTimeout.
func TestIdleTimeoutInsideRequest(t *testing.T) {
	echo := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Expect") != "" {
			time.Sleep(600 * time.Millisecond) // say, an authorization lookup
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(body)
	}))
	fastEcho := HandlerFunc(func(c *Ctx) { c.SetBody(append([]byte(nil), c.Body()...)) })
	const idle, pause = 200 * time.Millisecond, 600 * time.Millisecond
	for _, tc := range []struct {
		name         string
		h            Handler
		header, body time.Duration // ReadHeaderTimeout, ReadTimeout
		first, rest  string
		want         string
	}{
		{"head", fastEcho, 5 * time.Second, 0, "POST / HTTP/1.1\r\nHost: x\r\n", "Content-Length: 2\r\n\r\nhi", "hi"},
		{"body", echo, 0, 5 * time.Second, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello", "world", "helloworld"},
		{"fast-body", fastEcho, 0, 5 * time.Second, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello", "world", "helloworld"},
		{"expect-100", echo, 0, 0, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "", "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				addr := startServer(t, b, &Server{Handler: tc.h, IdleTimeout: idle,
					ReadHeaderTimeout: tc.header, ReadTimeout: tc.body})
				c := dial(t, addr)
				br := bufio.NewReader(c)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, tc.first)
				rest := tc.rest
				if rest == "" {
					// The handler sleeps longer than IdleTimeout before it reads the body.
					if line, err := br.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
						t.Fatalf("waiting for 100 Continue: %q, %v", line, err)
					}
					br.ReadString('\n')
					rest = "hello"
				} else {
					time.Sleep(pause)
				}
				if _, err := io.WriteString(c, rest); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("a pause of %v (IdleTimeout %v) ended the request: %v", pause, idle, err)
				}
				if got := bodyString(resp); resp.StatusCode != 200 || got != tc.want {
					t.Fatalf("%d %q", resp.StatusCode, got)
				}
			})
		})
	}
}

// Where no read timeout bounds a phase, IdleTimeout still ends a request stalled in it: a head
// without ReadHeaderTimeout, a body without ReadTimeout (no response, a close).
func TestIdleTimeoutStalledRequest(t *testing.T) {
	for _, tc := range []struct{ name, req, want string }{
		{"head", "GET / HTTP/1.1\r\nHost: x\r\n", ""},
		{"body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello", ""},
		// The fast path sends 100 Continue at once: then the client is the one stalling.
		{"body-after-100", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
			"HTTP/1.1 100 Continue\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				addr := startServer(t, b, &Server{Handler: HandlerFunc(benchHello), IdleTimeout: 200 * time.Millisecond})
				c := dial(t, addr)
				io.WriteString(c, tc.req)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				start := time.Now()
				out, err := io.ReadAll(c)
				if err != nil || string(out) != tc.want {
					t.Fatalf("a request stalled with only IdleTimeout set: %q, %v after %v", out, err, time.Since(start))
				}
			})
		})
	}
}
