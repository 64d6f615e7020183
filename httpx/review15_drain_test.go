package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A handler that flushes its response and returns before its (small) body arrived: net/http
// reads the rest of the body after the handler (up to 256 KiB) and keeps the connection for the
// next request. FromHTTP closed the connection after the response, which had not announced
// the close: the next request on the connection got no answer.
func TestFromHTTPFlushedResponseUnreadBodyKeepAlive(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
		w.(http.Flusher).Flush()
	})
	check := func(t *testing.T, addr string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
		// The body follows a little later (a slow uploader), then the next request.
		time.Sleep(200 * time.Millisecond)
		io.WriteString(c, "0123456789GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "ok" || resp.Close {
			t.Fatalf("first response %q %v close=%v", b, err, resp.Close)
		}
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("second request on the kept connection: %v", err)
		}
		io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("second response %d", resp.StatusCode)
		}
	}
	bothServers(t, h, check)
}
