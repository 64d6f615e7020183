package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestReadTimeoutSplitRequestsWhilePaused: a client with a small receive buffer pipelines
// requests whose heads (or bodies) are cut across its writes, then reads a second later. The
// server's output passes the high-water mark and it stops reading; a request cut off at the
// end of a read must then not run its ReadHeaderTimeout (ReadTimeout) in the engine while the
// server itself does not read: every request was sent in time and gets its response (net/http
// starts the next request's timeout only after writing the previous response).
func TestReadTimeoutSplitRequestsWhilePaused(t *testing.T) {
	const nreq, respSize = 300, 20 << 10
	big := strings.Repeat("x", respSize)
	for _, tc := range []struct {
		name                     string
		headTimeout, bodyTimeout time.Duration
		first, mid, last         string
	}{
		{"head", 300 * time.Millisecond, 0,
			"GET / HTTP/1.1\r\nHo", "st: a\r\n\r\nGET / HTTP/1.1\r\nHo", "st: a\r\n\r\n"},
		{"body", 0, 300 * time.Millisecond,
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234",
			"56789POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234", "56789"},
		// Session 19: the 100 Continue was queued before the check that hands the request back.
		{"expect", 0, 300 * time.Millisecond,
			"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n01234",
			"56789POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n01234", "56789"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) { c.WriteString(big) }),
					ReadHeaderTimeout: tc.headTimeout, ReadTimeout: tc.bodyTimeout})
				d := net.Dialer{Control: func(network, address string, rc syscall.RawConn) error {
					return rc.Control(func(fd uintptr) {
						syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
					})
				}}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				io.WriteString(c, tc.first)
				for i := 1; i < nreq; i++ {
					time.Sleep(time.Millisecond)
					if _, err := io.WriteString(c, tc.mid); err != nil {
						t.Fatal(err)
					}
				}
				io.WriteString(c, tc.last)
				time.Sleep(time.Second) // every request was sent; now the client reads
				br := bufio.NewReaderSize(c, 1<<20)
				for i := 0; i < nreq; i++ {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Fatalf("response %d of %d: %v", i, nreq, err)
					}
					if resp.StatusCode == http.StatusContinue {
						i--
						continue
					}
					if n, err := io.Copy(io.Discard, resp.Body); n != respSize || err != nil {
						t.Fatalf("response %d of %d: %d bytes, %v", i, nreq, n, err)
					}
				}
			})
		})
	}
}
