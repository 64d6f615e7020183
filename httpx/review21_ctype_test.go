package httpx

import (
	"bufio"
	"io"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// SetHeader's doc says Content-Type through it "is SetContentType", and SetContentType("")
// (like SetHeaderBytes("Content-Type", nil)) removes the field; SetHeader("Content-Type", "")
// kept the earlier type.
func TestReview21SetHeaderEmptyContentType(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			c.SetContentType("text/html")
			switch string(c.Path()) {
			case "/set":
				c.SetHeader("Content-Type", "")
			case "/bytes":
				c.SetHeaderBytes("Content-Type", nil)
			default:
				c.SetContentType("")
			}
			c.WriteString("x")
		})})
		c := dial(t, addr)
		io.WriteString(c, "GET /set HTTP/1.1\r\nHost: h\r\n\r\nGET /bytes HTTP/1.1\r\nHost: h\r\n\r\nGET /ct HTTP/1.1\r\nHost: h\r\n\r\n")
		for i, resp := range readResponses(t, bufio.NewReader(c), 3) {
			if v, ok := resp.Header["Content-Type"]; ok {
				t.Errorf("response %d: Content-Type %q sent after it was set empty", i, v)
			}
		}
	})
}
