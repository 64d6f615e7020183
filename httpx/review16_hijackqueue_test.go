package httpx

import (
	"bytes"
	"io"
	"net"
	"net/http"
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
			if err != nil {
				res <- err
				return
			}
			defer conn.Close()
			conn.SetWriteDeadline(time.Now().Add(8 * time.Second))
			_, err = conn.Write(bytes.Repeat([]byte("b"), post))
			res <- err
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
