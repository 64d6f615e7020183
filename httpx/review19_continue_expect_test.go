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

// TestReview19ContinueExpectReadAfterResponse: the handler starts its response (WriteHeader + Flush),
// then reads Body of an "Expect: 100-continue" request; the 100 can no longer go out, and
// the client (which got a final status instead) never sends the body. With ReadTimeout set
// the handler's Body.Read must fail (net/http: after ReadTimeout), not wait for ever.
func TestReview19ContinueExpectReadAfterResponse(t *testing.T) {
	handler := func(readErr chan<- error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			_, err := io.ReadAll(r.Body)
			readErr <- err
		})
	}
	const req = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
	check := func(t *testing.T, addr string, readErr <-chan error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, req)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		select {
		case err := <-readErr:
			if err == nil {
				t.Fatalf("Body read ended without error")
			}
			t.Logf("Body.Read: %v", err)
		case <-time.After(3 * time.Second):
			t.Fatalf("handler's Body.Read still blocked 3s after the response started (ReadTimeout 300ms)")
		}
		// (httpx: "A timeout closes the connection without a response", so the rest of the
		// response may be cut; only the handler's Read must not wait for ever.)
	}
	t.Run("nethttp", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan error, 1)
		srv := &http.Server{Handler: handler(ch), ReadTimeout: 300 * time.Millisecond}
		go srv.Serve(ln)
		defer srv.Close()
		check(t, ln.Addr().String(), ch)
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		ch := make(chan error, 1)
		addr := startServer(t, b, &Server{Handler: FromHTTP(handler(ch)), ReadTimeout: 300 * time.Millisecond})
		check(t, addr, ch)
	})
}
