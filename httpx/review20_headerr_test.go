package httpx

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// An error status answering a HEAD request must not carry content (RFC 9110 9.3.2): the
// client reads the head only, so the bytes after it would be taken for the next response.
// An error response the server writes itself (413, 417, 501, 400 for a bad
// body) to a HEAD request had content: RFC 9110 9.3.2 says a response to
// HEAD has none, and a client reading only the head finds the bytes where
// the next response would be.
func TestReview20HeadErrorHasNoContent(t *testing.T) {
	fast := HandlerFunc(func(c *Ctx) { c.WriteString("ok") })
	slow := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	for _, tc := range []struct {
		name string
		h    Handler
		req  string
	}{
		{"fast413", fast, "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"},
		{"fast417", fast, "HEAD / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n"},
		{"fast501", fast, "HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"},
		{"fastbadchunk", fast, "HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"adapter413", slow, "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"},
		{"adapterbadchunk", slow, "HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, reactor.BackendEpoll, &Server{Handler: tc.h, MaxBodyBytes: 10})
			c := dial(t, addr)
			io.WriteString(c, tc.req)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(br)
			t.Logf("%d, after the head: %q", resp.StatusCode, rest)
			if len(rest) > 0 {
				t.Fatalf("HEAD answered %d with %d bytes of content after the head: %q", resp.StatusCode, len(rest), rest)
			}
		})
	}
	_ = strings.Repeat
}
