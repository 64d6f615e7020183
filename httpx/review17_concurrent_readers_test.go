package httpx

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// sameAsNetHTTP runs f against net/http's server and FromHTTP (uring, epoll) with the same handler.
func sameAsNetHTTP(t *testing.T, h http.Handler, f func(t *testing.T, addr string)) {
	t.Run("nethttp", func(t *testing.T) {
		ts := httptest.NewServer(h)
		defer ts.Close()
		f(t, strings.TrimPrefix(ts.URL, "http://"))
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		f(t, addr)
	})
}

// Two goroutines blocked in Read on a hijacked conn: the peer's EOF must end both (net.Conn:
// methods may be called from several goroutines at once).
func TestAdapterHijackTwoReadersEOF(t *testing.T) {
	res := make(chan string, 4)
	h := twoHijackReaders(16, res)
	sameAsNetHTTP(t, h, func(t *testing.T, addr string) {
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		b := make([]byte, 5)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		start := time.Now()
		for i := 0; i < 2; i++ {
			select {
			case s := <-res:
				t.Logf("reader %d: %s after %v", i, s, time.Since(start))
				if time.Since(start) > time.Second {
					t.Errorf("reader %d woke only by Close, not by the EOF", i)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("reader %d never returned", i)
			}
		}
	})
}

// Two goroutines blocked in Read with 1-byte buffers; the client sends 2 bytes: both get one.
func TestAdapterHijackTwoReadersData(t *testing.T) {
	res := make(chan string, 4)
	h := twoHijackReaders(1, res)
	sameAsNetHTTP(t, h, func(t *testing.T, addr string) {
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		b := make([]byte, 5)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "ab")
		start := time.Now()
		for i := 0; i < 2; i++ {
			select {
			case s := <-res:
				t.Logf("reader %d: %s after %v", i, s, time.Since(start))
				if time.Since(start) > time.Second {
					t.Errorf("reader %d did not get the byte waiting for it", i)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("reader %d never returned", i)
			}
		}
	})
}

// Two pipelined requests, then the client half-closes while the first handler runs: the second
// request's Context must be cancelled too (net/http: its background read sees the EOF).
func TestAdapterPipelinedContextAfterEOF(t *testing.T) {
	res := make(chan string, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/1" {
			time.Sleep(200 * time.Millisecond)
			io.WriteString(w, "one")
			return
		}
		select {
		case <-r.Context().Done():
			res <- "cancelled"
		case <-time.After(2 * time.Second):
			res <- "not cancelled"
		}
		io.WriteString(w, "two")
	})
	sameAsNetHTTP(t, h, func(t *testing.T, addr string) {
		c := dial(t, addr)
		io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).CloseWrite()
		select {
		case s := <-res:
			if s != "cancelled" {
				t.Errorf("second request's Context: %s", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("second handler never ran")
		}
		br := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Logf("response %d: %v", i, err)
				break
			}
			t.Logf("response %d: %d %q", i, resp.StatusCode, bodyString(resp))
		}
	})
}

// Two goroutines of a handler blocked in Body.Read with 1-byte buffers; one chunk of 2 bytes
// arrives: both get a byte (net/http's body serializes its Reads; neither waits for more input).
func TestAdapterBodyTwoReadersChunk(t *testing.T) {
	got := make(chan string, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := make(chan string, 2)
		for i := 0; i < 2; i++ {
			go func() {
				b := make([]byte, 1)
				n, err := r.Body.Read(b)
				res <- fmt.Sprintf("%d %v", n, err)
			}()
		}
		var out string
		for i := 0; i < 2; i++ {
			select {
			case s := <-res:
				out += "[" + s + "]"
			case <-time.After(2 * time.Second):
				out += "[hang]"
			}
		}
		got <- out
		io.Copy(io.Discard, r.Body)
	})
	sameAsNetHTTP(t, h, func(t *testing.T, addr string) {
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		time.Sleep(200 * time.Millisecond)
		io.WriteString(c, "2\r\nab\r\n") // the rest of the body only after both reads
		body := <-got
		io.WriteString(c, "0\r\n\r\n")
		t.Logf("%s", body)
		if strings.Contains(body, "hang") {
			t.Errorf("a Body.Read hung with a byte for it in the pipe: %s", body)
		}
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// twoHijackReaders hijacks the conn, starts two goroutines blocked in Read with bufSize-byte
// buffers (each reports "n err" on res), writes "ready", and closes the conn after 3 s.
func twoHijackReaders(bufSize int, res chan<- string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			res <- "hijack: " + err.Error()
			return
		}
		for i := 0; i < 2; i++ {
			go func() {
				b := make([]byte, bufSize)
				n, err := conn.Read(b)
				res <- fmt.Sprintf("%d %v", n, err)
			}()
		}
		go func() { time.Sleep(3 * time.Second); conn.Close() }()
		time.Sleep(100 * time.Millisecond) // both readers blocked
		conn.Write([]byte("ready"))
	})
}
