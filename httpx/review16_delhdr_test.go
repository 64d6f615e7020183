package httpx

import (
	"bufio"
	"io"
	"net/http"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// DelHeader "removes every response field line named name"; Content-Type set with
// SetContentType or SetHeader("Content-Type", ...) is one such line, and net/http's
// Header().Del("Content-Type") removes it.
func TestDelHeaderContentType(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			if string(c.Path()) == "/set" {
				c.SetHeader("Content-Type", "text/html")
			} else {
				c.SetContentType("text/html")
			}
			c.DelHeader("Content-Type")
			c.WriteString("x")
		})})
		c := dial(t, addr)
		io.WriteString(c, "GET /ct HTTP/1.1\r\nHost: h\r\n\r\nGET /set HTTP/1.1\r\nHost: h\r\n\r\n")
		for i, resp := range readResponses(t, bufio.NewReader(c), 2) {
			if v, ok := resp.Header["Content-Type"]; ok {
				t.Errorf("response %d: Content-Type %q still sent after DelHeader(\"Content-Type\")", i, v)
			}
		}
		_ = http.StatusOK
	})
}
