package httpx

import (
	"bufio"
	"io"
	"net/http"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// A percent-encoded host ("b%41", which names the host "bA") reached a fast-path handler as
// Ctx.Host() "b%41", where FromHTTP and net/http answer 400 to the same absolute-form target:
// a handler comparing Host with a name it denies would let it through. Both paths refuse it.
func TestReview20PercentEncodedHostRefused(t *testing.T) {
	fast := HandlerFunc(func(c *Ctx) { c.WriteString(string(c.Host())) })
	slow := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) }))
	for _, h := range []struct {
		name string
		h    Handler
	}{{"fast", fast}, {"fromhttp", slow}} {
		for _, req := range []string{
			"GET http://b%41/x HTTP/1.1\r\nHost: b%41\r\n\r\n",
			"GET /x HTTP/1.1\r\nHost: b%41\r\n\r\n",
			"GET /x HTTP/1.1\r\nHost: b%41:80\r\n\r\n",
		} {
			t.Run(h.name, func(t *testing.T) {
				addr := startServer(t, reactor.BackendEpoll, &Server{Handler: h.h})
				c := dial(t, addr)
				io.WriteString(c, req)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 400 || !resp.Close {
					t.Fatalf("%q: %d (close %v), want 400 and close", req, resp.StatusCode, resp.Close)
				}
			})
		}
	}
}

// A Transfer-Encoding line with no coding (empty, or only commas) before one that says
// chunked was taken as chunked: a front end that reads only the first line sees no transfer
// coding and frames the body another way. Refused now; ",chunked" (one line) still is chunked.
func TestReview20EmptyTransferEncodingRefused(t *testing.T) {
	fast := HandlerFunc(func(c *Ctx) { c.WriteString("ok") })
	slow := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	for _, h := range []struct {
		name string
		h    Handler
	}{{"fast", fast}, {"fromhttp", slow}} {
		for _, c := range []struct {
			te   string
			want int
		}{
			{"Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n", 400},
			{"Transfer-Encoding: ,\r\nTransfer-Encoding: chunked\r\n", 400},
			{"Transfer-Encoding: ,chunked\r\n", 200},
		} {
			t.Run(h.name, func(t *testing.T) {
				addr := startServer(t, reactor.BackendEpoll, &Server{Handler: h.h})
				conn := dial(t, addr)
				io.WriteString(conn, "POST / HTTP/1.1\r\nHost: a\r\n"+c.te+"\r\n3\r\nabc\r\n0\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Fatalf("%q: %d, want %d", c.te, resp.StatusCode, c.want)
				}
			})
		}
	}
}
