package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestReview19ExpectWaitReadTimeout: a client sends a head with "Expect: 100-continue" and
// waits for the 100 (RFC 9110 10.1.1); the FromHTTP handler takes longer than ReadTimeout to
// decide, then refuses with 401 without reading the body. The client sent all it may send;
// it must get the 401 (net/http's server sends it), not a closed connection.
func TestReview19ExpectWaitReadTimeout(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(600 * time.Millisecond) // say, an authorization lookup
		w.WriteHeader(401)
	})
	const req = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
	check := func(t *testing.T, addr string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		if resp.StatusCode != 401 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	t.Run("nethttp", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h, ReadTimeout: 300 * time.Millisecond}
		go srv.Serve(ln)
		defer srv.Close()
		check(t, ln.Addr().String())
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: FromHTTP(h), ReadTimeout: 300 * time.Millisecond})
		check(t, addr)
	})
}
