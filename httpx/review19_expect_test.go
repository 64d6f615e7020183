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

// TestReview19ExpectSplitWhilePaused: as TestReadTimeoutSplitRequestsWhilePaused (body), but
// the requests carry "Expect: 100-continue" (the client sends the body without waiting, which
// RFC 9110 10.1.1 allows). Every request was sent in time; none may hit ReadTimeout while the
// server itself does not read.
func TestReview19ExpectSplitWhilePaused(t *testing.T) {
	const nreq, respSize = 300, 20 << 10
	big := strings.Repeat("x", respSize)
	head := "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"
	first, mid, last := head+"01234", "56789"+head+"01234", "56789"
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			if string(c.Body()) != "0123456789" {
				c.SetStatus(400)
				return
			}
			c.WriteString(big)
		}),
			ReadTimeout: 300 * time.Millisecond})
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
		io.WriteString(c, first)
		for i := 1; i < nreq; i++ {
			time.Sleep(time.Millisecond)
			if _, err := io.WriteString(c, mid); err != nil {
				t.Fatal(err)
			}
		}
		io.WriteString(c, last)
		time.Sleep(time.Second) // every request was sent; now the client reads
		br := bufio.NewReaderSize(c, 1<<20)
		for i := 0; i < nreq; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d of %d: %v", i, nreq, err)
			}
			if resp.StatusCode == 100 {
				i--
				continue
			}
			if n, err := io.Copy(io.Discard, resp.Body); resp.StatusCode != 200 || n != respSize || err != nil {
				t.Fatalf("response %d of %d: %d, %d bytes, %v", i, nreq, resp.StatusCode, n, err)
			}
		}
	})
}
