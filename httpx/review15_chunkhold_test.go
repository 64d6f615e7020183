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

// A handler that rejects a request without reading its chunked body: a client that streams the
// body and waits for the answer gets it from net/http once 256 KiB were discarded; FromHTTP
// holds the response until the body ends.
func TestFromHTTPChunkedUnreadBodyHeldForever(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "denied", http.StatusUnauthorized)
	})
	check := func(t *testing.T, addr string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 16<<10, strings.Repeat("u", 16<<10))
		got := make(chan string, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			if !resp.Close {
				got <- resp.Status + " without Connection: close"
				return
			}
			got <- resp.Status
		}()
		// Stream 1 MiB, then keep the upload open (no last chunk) and wait for the answer.
		for i := 0; i < 64; i++ {
			if _, err := io.WriteString(c, chunk); err != nil {
				break
			}
		}
		select {
		case s := <-got:
			if !strings.HasPrefix(s, "401") || strings.Contains(s, "without") {
				t.Fatalf("response: %s", s)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("no response 3s after 1 MiB of an unread chunked body")
		}
	}
	bothServers(t, h, check)
}

func TestWithConnClose(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"HTTP/1.1 401 Unauthorized\r\nX: Connection: keep-alive\r\n\r\nbody", "HTTP/1.1 401 Unauthorized\r\nX: Connection: keep-alive\r\nConnection: close\r\n\r\nbody"},
		{"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nA: b\r\n\r\n", "HTTP/1.0 200 OK\r\nConnection: close\r\nA: b\r\n\r\n"},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nx\r\n\r\n", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nx\r\n\r\n"},
	} {
		if got := string(withConnClose([]byte(c.in))); got != c.want {
			t.Errorf("withConnClose(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
