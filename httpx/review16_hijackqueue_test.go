package httpx

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestHijackWriteBehindResponse: a handler streams a response (200, flushed, as Docker's
// attach does), hijacks, and writes through the conn. With an AsyncWrite limit below
// respHighWater+hijackChunk, the response still queued on the conn when the hijacker writes
// makes AsyncWrite refuse the first piece; nothing of the hijacker's is queued, so no done
// callback ever wakes the Write: it hangs although the client reads everything.
func TestHijackWriteBehindResponse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const pre, post = 4 << 20, 1 << 20
		res := make(chan error, 1)
		s := &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.WriteHeader(200)
			w.Write(bytes.Repeat([]byte("a"), pre))
			conn, _, err := w.(http.Hijacker).Hijack()
			hijackWrite(conn, err, post, res)
		})), Reactor: []reactor.Option{reactor.WithAsyncWriteLimit(64 << 10)}}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(15 * time.Second))
		c.(*net.TCPConn).SetReadBuffer(16 << 10)
		io.WriteString(c, "GET /attach HTTP/1.1\r\nHost: x\r\n\r\n")
		// A client that reads at a moderate pace, then as fast as it can.
		buf := make([]byte, 16<<10)
		got, bs := 0, 0
		start := time.Now()
		for {
			n, err := c.Read(buf)
			got += n
			bs += bytes.Count(buf[:n], []byte("b"))
			if err != nil {
				break
			}
			if got < pre/2 {
				time.Sleep(time.Millisecond)
			}
		}
		werr := <-res
		if bs != post || werr != nil {
			t.Fatalf("client got %d bytes, %d of the hijacker's %d, in %v; hijacker's Write: %v", got, bs, post, time.Since(start), werr)
		}
	})
}

// hijackWrite writes n bytes through a hijacked conn (under an 8 s write deadline) and reports
// the result on res.
func hijackWrite(conn net.Conn, err error, n int, res chan<- error) {
	if err != nil {
		res <- err
		return
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(8 * time.Second))
	_, err = conn.Write(bytes.Repeat([]byte("b"), n))
	res <- err
}

// TestHijackWriteBehindPipelined: default settings. A client pipelines small requests (each
// answered with 4000 bytes, in the handler's final delivery, which nothing waits on) and then
// an upgrade request, and reads nothing for a second. The responses queued before the 101 filled
// the connection's queue past the AsyncWrite limit, so the hijacker's first Write was refused,
// and no callback of its own woke it: it hung although the client then read it all. (Since
// FromHTTP waits for the output to drain between pipelined requests, the queue no longer gets
// that far here; TestHijackWriteBehindResponse still reaches the case.)
func TestHijackWriteBehindPipelined(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const n, post = 3000, 1 << 20
		small := strings.Repeat("s", 4000)
		res := make(chan error, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ws" {
				io.WriteString(w, small)
				return
			}
			conn, err := hijack101(w)
			hijackWrite(conn, err, post, res)
		}))
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(15 * time.Second))
		go io.WriteString(c, strings.Repeat("GET /s HTTP/1.1\r\nHost: x\r\n\r\n", n)+upgradeRequest)
		time.Sleep(time.Second) // the client reads nothing yet
		br := bufio.NewReaderSize(c, 64<<10)
		for i := 0; i < n; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			io.Copy(io.Discard, resp.Body)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("%v %v", resp, err)
		}
		start := time.Now()
		got, err := io.ReadAll(br)
		werr := <-res
		if len(got) != post || werr != nil {
			t.Fatalf("client got %d of the hijacker's %d bytes in %v (%v); hijacker's Write: %v", len(got), post, time.Since(start), err, werr)
		}
	})
}
