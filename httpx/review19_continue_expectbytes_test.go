package httpx

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestReview19ContinueExpectEarlyBytesThenStall: the client does not wait for 100 Continue: it sends 2 of
// 5 body bytes, then stalls; the handler has not read yet. ReadTimeout must run from those
// bytes (commit 2153d24's contract): the connection closes about ReadTimeout later.
func TestReview19ContinueExpectEarlyBytesThenStall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		done := make(chan struct{})
		defer close(done)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-done:
			case <-r.Context().Done():
			}
		})
		addr := startServer(t, b, &Server{Handler: FromHTTP(h), ReadTimeout: 300 * time.Millisecond})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		time.Sleep(100 * time.Millisecond)
		io.WriteString(c, "ab")
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 512)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				t.Logf("got %q", buf[:n])
			}
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("connection still open 3s after the body stalled (ReadTimeout 300ms)")
				}
				t.Logf("closed after %v: %v", time.Since(start), err)
				return
			}
		}
	})
}

// TestReview19ContinueExpectChunkFramingThenStall: as TestReview19ContinueExpectEarlyBytesThenStall with a chunked
// body whose first bytes are a chunk-size line (no data yet); the client then stalls; the handler has not read yet. ReadTimeout must run from those
// bytes (commit 2153d24's contract): the connection closes about ReadTimeout later.
func TestReview19ContinueExpectChunkFramingThenStall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		done := make(chan struct{})
		defer close(done)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-done:
			case <-r.Context().Done():
			}
		})
		addr := startServer(t, b, &Server{Handler: FromHTTP(h), ReadTimeout: 300 * time.Millisecond})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
		time.Sleep(100 * time.Millisecond)
		io.WriteString(c, "5\r\n") // a chunk-size line: body bytes, no data yet
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 512)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				t.Logf("got %q", buf[:n])
			}
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("connection still open 3s after the body stalled (ReadTimeout 300ms)")
				}
				t.Logf("closed after %v: %v", time.Since(start), err)
				return
			}
		}
	})
}
