package httpx

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Pipelined big responses to a client that reads only later, then a request the server
// rejects: every earlier response arrives whole, then the rejection, then EOF.
func TestReview19RejectWhilePaused(t *testing.T) {
	const nreq, respSize = 100, 20 << 10
	big := strings.Repeat("x", respSize)
	for _, tc := range []struct {
		name, bad string
		status    int
	}{
		{"431", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 2000) + "\r\n\r\n", 431},
		{"413-cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413},
		{"413-chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + strings.Repeat("c", 4096) + "\r\n", 413},
		{"close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200},
	} {
		for _, fromHTTP := range []bool{false, true} {
			name := tc.name
			var h Handler = HandlerFunc(func(c *Ctx) { c.WriteString(big) })
			if fromHTTP {
				name += "/fromhttp"
				h = FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// The handler starts once the head is parsed: give the loop time to reach a
					// bad body first (decided after the header went out, it cannot be announced).
					time.Sleep(50 * time.Millisecond)
					io.WriteString(w, big)
				}))
			}
			t.Run(name, func(t *testing.T) {
				forEachBackend(t, func(t *testing.T, b reactor.Backend) {
					addr := startServer(t, b, &Server{Handler: h, MaxHeaderBytes: 1024, MaxBodyBytes: 1024,
						ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
					c := smallRcvDial(t, addr)
					for i := 0; i < nreq; i++ {
						if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
							t.Fatal(err)
						}
					}
					io.WriteString(c, tc.bad+"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
					time.Sleep(time.Second)
					br := bufio.NewReaderSize(c, 1<<20)
					for i := 0; i < nreq; i++ {
						resp, err := http.ReadResponse(br, nil)
						if err != nil {
							t.Fatalf("response %d: %v", i, err)
						}
						if n, err := io.Copy(io.Discard, resp.Body); n != respSize || err != nil {
							t.Fatalf("response %d: %d bytes, %v", i, n, err)
						}
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Fatalf("rejection: %v", err)
					}
					io.Copy(io.Discard, resp.Body)
					n, err := br.Read(make([]byte, 1))
					if n != 0 || err != io.EOF {
						t.Fatalf("after the rejection: %d, %v", n, err)
					}
					// FromHTTP: a handler that does not read its body may answer 200 before
					// the rejection; the connection then ends, which the response must say.
					if !resp.Close {
						t.Fatalf("%d without Connection: close, then EOF", resp.StatusCode)
					}
					if resp.StatusCode != tc.status && !(fromHTTP && resp.StatusCode == 200) {
						t.Fatalf("got %d, want %d", resp.StatusCode, tc.status)
					}
				})
			})
		}
	}
}
