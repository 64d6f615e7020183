package httpx

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// FromHTTP: pipelined requests cut at every byte across writes, the client reads only after
// it sent them all; no timeout may end the connection.
func TestReview19AdapterSplitEveryByteWhilePaused(t *testing.T) {
	const respSize = 20 << 10
	big := strings.Repeat("x", respSize)
	for _, tc := range []struct{ name, req, want, tr string }{
		{"cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", "0123456789", ""},
		{"cl-expect", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n0123456789", "0123456789", ""},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;e=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-T: v\r\n\r\n", "abcdefg", "v"},
		{"chunked-expect", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-T: v\r\n\r\n", "abcdefg", "v"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				addr := startServer(t, b, &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, err := io.ReadAll(r.Body)
					if err != nil || string(body) != tc.want || r.Trailer.Get("X-T") != tc.tr {
						w.WriteHeader(400)
						return
					}
					io.WriteString(w, big)
				})), ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
				n := 2 * (len(tc.req) - 1)
				pipelineSplit(t, smallRcvDial(t, addr), tc.req, n, respSize)
			})
		})
	}
}
