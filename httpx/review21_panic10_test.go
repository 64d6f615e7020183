package httpx

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// A fast-path handler that streams to an HTTP/1.0 client (a body delimited by the close) and
// then panics left the client with what looked like a complete 200: the graceful close is the
// end of such a body. The HandlerFunc contract says the response is cut short; the connection
// is now reset, also when part of the body went out already (a large Write is sent at once).
func TestReview21PanicAfterFlushHTTP10(t *testing.T) {
	big := strings.Repeat("b", 256<<10)
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			if strings.HasPrefix(string(c.Path()), "/big") {
				c.WriteString(big)
			} else {
				c.WriteString("partial")
			}
			c.Flush()
			if strings.HasSuffix(string(c.Path()), "panic") {
				panic("boom")
			}
			c.WriteString(" and the rest")
		})})
		for _, path := range []string{"/ok", "/panic", "/big", "/bigpanic"} {
			c := dial(t, addr)
			io.WriteString(c, "GET "+path+" HTTP/1.0\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
			}
			if !strings.HasSuffix(path, "panic") {
				if err != nil || !strings.HasSuffix(string(body), "and the rest") {
					t.Fatalf("%s: %d bytes, %v", path, len(body), err)
				}
				continue
			}
			if err == nil {
				t.Fatalf("%s: the client read a complete %d response (%d bytes) from a handler that panicked mid-body",
					path, resp.StatusCode, len(body))
			}
		}
	})
}

// The same through FromHTTP: a handler that flushed part of an HTTP/1.0 body (delimited by the
// close) and then panicked, plainly or with http.ErrAbortHandler ("the client sees an
// interrupted response"), left the client with a complete-looking 200.
func TestReview21AdapterPanicAfterFlushHTTP10(t *testing.T) {
	big := strings.Repeat("b", 256<<10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/big") {
			io.WriteString(w, big)
		} else {
			io.WriteString(w, "partial")
		}
		w.(http.Flusher).Flush()
		switch {
		case strings.HasSuffix(r.URL.Path, "abort"):
			panic(http.ErrAbortHandler)
		case strings.HasSuffix(r.URL.Path, "panic"):
			panic("boom")
		}
		io.WriteString(w, " and the rest")
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h, WithResponseBuffer(1))
		for _, path := range []string{"/ok", "/panic", "/abort", "/big", "/bigpanic", "/bigabort"} {
			c := dial(t, addr)
			io.WriteString(c, "GET "+path+" HTTP/1.0\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
			}
			if !strings.HasSuffix(path, "panic") && !strings.HasSuffix(path, "abort") {
				if err != nil || !strings.HasSuffix(string(body), "and the rest") {
					t.Fatalf("%s: %d bytes, %v", path, len(body), err)
				}
				continue
			}
			if err == nil {
				t.Fatalf("%s: the client read a complete %d response (%d bytes) from a handler that panicked mid-body",
					path, resp.StatusCode, len(body))
			}
		}
	})
}
