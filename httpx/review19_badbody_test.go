package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestReview19BadBodyResponseSaysClose: a FromHTTP handler that does not read its body writes
// a response larger than its buffer; the body, already in the server, is malformed (or over
// MaxBodyBytes), so the connection ends after the response, and the request pipelined behind
// is never answered. The response must say "Connection: close" (net/http's does: it looks at
// the body before it writes the header).
func TestReview19BadBodyResponseSaysClose(t *testing.T) {
	big := strings.Repeat("x", 20<<10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The request came in one write, but the handler starts as soon as its head is parsed:
		// give the loop time to reach the body's error first (decided after the header went
		// out, it cannot be announced).
		time.Sleep(100 * time.Millisecond)
		io.WriteString(w, big)
	})
	const next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	bad := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX" // no CRLF after the data
	over := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + strings.Repeat("c", 4096) + "\r\n0\r\n\r\n"
	check := func(t *testing.T, addr, req string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, req+next)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		if _, err := http.ReadResponse(br, nil); err == nil {
			return // the connection went on: the next request was answered
		}
		if !resp.Close {
			t.Fatalf("%d without Connection: close, then the connection ended", resp.StatusCode)
		}
	}
	t.Run("nethttp", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		defer srv.Close()
		check(t, ln.Addr().String(), bad)
	})
	for _, tc := range []struct{ name, req string }{{"malformed", bad}, {"413", over}} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				check(t, startServer(t, b, &Server{Handler: FromHTTP(h), MaxBodyBytes: 1024}), tc.req)
			})
		})
	}
}
