package httpx

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// A FromHTTP client that asked for 100 Continue but sends body bytes without
// waiting for it, then stalls, while the handler has not read yet: ReadTimeout
// runs from those bytes and closes the connection. "chunk-size" sends only a
// chunk-size line, no data: the timeout never ran (the 100 stayed owed).
func TestReview19ContinueEarlyBodyThenStall(t *testing.T) {
	for _, tc := range []struct{ name, head, body string }{
		{"content-length", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "ab"},
		{"chunk-size", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
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
				io.WriteString(c, tc.head)
				time.Sleep(100 * time.Millisecond)
				io.WriteString(c, tc.body)
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						if ne, ok := err.(net.Error); ok && ne.Timeout() {
							t.Fatal("connection still open 3s after the body stalled (ReadTimeout 300ms)")
						}
						return
					}
				}
			})
		})
	}
}
