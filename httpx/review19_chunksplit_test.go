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

func smallRcvDial(t *testing.T, addr string) net.Conn {
	d := net.Dialer{Control: func(network, address string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// pipelineSplit writes nreq copies of req, each cut at a different byte (cycling through all
// of them) across writes 1 ms apart, waits, then reads nreq final responses of respSize bytes.
func pipelineSplit(t *testing.T, c net.Conn, req string, nreq, respSize int) {
	k := func(i int) int { return 1 + i%(len(req)-1) }
	io.WriteString(c, req[:k(0)])
	for i := 1; i < nreq; i++ {
		time.Sleep(time.Millisecond)
		if _, err := io.WriteString(c, req[k(i-1):]+req[:k(i)]); err != nil {
			t.Fatal(err)
		}
	}
	io.WriteString(c, req[k(nreq-1):])
	time.Sleep(time.Second)
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
		if n, err := io.Copy(io.Discard, resp.Body); resp.StatusCode != 200 || n != int64(respSize) || err != nil {
			t.Fatalf("response %d of %d: %d, %d bytes, %v", i, nreq, resp.StatusCode, n, err)
		}
	}
}

func TestReview19ChunkedSplitEveryByteWhilePaused(t *testing.T) {
	const respSize = 20 << 10
	big := strings.Repeat("x", respSize)
	for _, expect := range []bool{false, true} {
		h := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		if expect {
			h += "Expect: 100-continue\r\n"
		}
		req := h + "\r\n3;e=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-T: v\r\n\r\n"
		name := "plain"
		if expect {
			name = "expect"
		}
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
					if string(c.Body()) != "abcdefg" || string(c.Trailer("X-T")) != "v" {
						c.SetStatus(400)
						return
					}
					c.WriteString(big)
				}), ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
				pipelineSplit(t, smallRcvDial(t, addr), req, 3*(len(req)-1), respSize)
			})
		})
	}
}
