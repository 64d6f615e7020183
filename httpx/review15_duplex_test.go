package httpx

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that sends its whole request before it reads the response (Python's http.client,
// most simple clients), to a handler that ignores the body and writes a large response: net/http
// reads up to 256 KiB of unread body before it sends the response header (golang/go#15527), so
// the client finishes sending and then reads. FromHTTP stops reading the body once its pipe is
// full, and the handler's writes wait for the client to read: both sides wait for ever.
func TestFromHTTPSequentialClientLargeResponseUnreadBody(t *testing.T) {
	const respSize = 16 << 20
	chunk := strings.Repeat("r", 32<<10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(respSize))
		for n := 0; n < respSize; n += len(chunk) {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	check := func(t *testing.T, addr string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetWriteBuffer(8 << 10) // the client's own socket: little kernel slack
		c.SetDeadline(time.Now().Add(5 * time.Second))
		body := strings.Repeat("b", 255<<10)
		// Send the whole request first, as a sequential client does.
		if _, err := fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			t.Fatalf("sending the request: %v", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || n != respSize {
			t.Fatalf("read %d of %d: %v", n, respSize, err)
		}
	}
	bothServers(t, h, check)
}
