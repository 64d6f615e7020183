package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// halfClose sends raw, shuts down the sending side, and returns all the server sends until it
// closes.
func halfClose(t *testing.T, addr, raw string) []byte {
	t.Helper()
	c := dial(t, addr)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	return expectClosed(t, c)
}

func statusesOf(t *testing.T, out []byte, n int) []int {
	t.Helper()
	rs := readResponses(t, bufio.NewReader(bytes.NewReader(out)), n)
	var codes []int
	for _, r := range rs {
		codes = append(codes, r.StatusCode)
	}
	return codes
}

func TestHalfCloseFromHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		bodyErr := make(chan error, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/slow":
				time.Sleep(30 * time.Millisecond) // the EOF arrives while the handler runs
				io.WriteString(w, "slow")
			case "/read":
				_, err := io.ReadAll(r.Body)
				bodyErr <- err
				io.WriteString(w, "read")
			default:
				io.WriteString(w, "fast")
			}
		}))
		// Two pipelined requests, then EOF: both answered in order, then close.
		out := halfClose(t, addr, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
		rs := readResponses(t, bufio.NewReader(bytes.NewReader(out)), 2)
		if bodyString(rs[0]) != "slow" || bodyString(rs[1]) != "fast" {
			t.Fatalf("responses %q", out)
		}
		// A body cut off by the EOF: 400, never the handler's 200.
		out = halfClose(t, addr, "POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcd")
		if codes := statusesOf(t, out, 1); codes[0] != 400 {
			t.Fatalf("cut body (handler ignores it): %q", out)
		}
		out = halfClose(t, addr, "POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n")
		if codes := statusesOf(t, out, 1); codes[0] != 400 {
			t.Fatalf("cut body (handler reads it): %q", out)
		}
		if err := <-bodyErr; !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Body.Read of a cut body: %v", err)
		}
		// A head cut off by the EOF after a complete request.
		out = halfClose(t, addr, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTT")
		if codes := statusesOf(t, out, 2); codes[0] != 200 || codes[1] != 400 {
			t.Fatalf("cut head: %q", out)
		}
		// Idle: closed without a byte.
		if out := halfClose(t, addr, ""); len(out) != 0 {
			t.Fatalf("idle connection got %q", out)
		}
	})
}

// A handler that returns before its body arrived: the response waits for the body, a malformed
// body gets 400, a good one the handler's response and keep-alive.
func TestAdapterHeldResponse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		returned := make(chan struct{}, 4)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "early")
			returned <- struct{}{}
		}))
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
		<-returned
		io.WriteString(c, "0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		rs := readResponses(t, bufio.NewReader(c), 2)
		if rs[0].StatusCode != 200 || bodyString(rs[0]) != "early" || rs[0].Close || rs[1].StatusCode != 200 {
			t.Fatalf("good body: %+v %+v", rs[0], rs[1])
		}
		c = dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
		<-returned
		io.WriteString(c, "zz\r\n")
		out := expectClosed(t, c)
		if codes := statusesOf(t, out, 1); codes[0] != 400 {
			t.Fatalf("malformed body: %q", out)
		}
	})
}

func TestHalfCloseFastPath(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(helloHandler)})
		out := halfClose(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if codes := statusesOf(t, out, 2); codes[0] != 200 || codes[1] != 200 {
			t.Fatalf("pipelined: %q", out)
		}
		out = halfClose(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcd")
		if codes := statusesOf(t, out, 1); codes[0] != 400 {
			t.Fatalf("cut body: %q", out)
		}
		out = halfClose(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HT")
		if codes := statusesOf(t, out, 2); codes[0] != 200 || codes[1] != 400 {
			t.Fatalf("cut head: %q", out)
		}
		if out := halfClose(t, addr, "\r\n"); len(out) != 0 {
			t.Fatalf("idle connection got %q", out)
		}
	})
}
