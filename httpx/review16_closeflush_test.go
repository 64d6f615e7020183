package httpx

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// SetConnectionClose "makes the connection close after this response"; after Flush it is
// silently ignored: the connection stays open and the pipelined request behind is answered.
func TestSetConnectionCloseAfterFlush(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			c.WriteString("a")
			c.Flush()
			c.WriteString("b")
			c.SetConnectionClose() // e.g. the handler found an error mid-stream
		})})
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "ab" {
			t.Fatalf("body %q", body)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		rest, _ := io.ReadAll(br)
		if len(rest) != 0 {
			t.Fatalf("connection not closed after SetConnectionClose; the next request was answered: %q", rest[:min(len(rest), 80)])
		}
	})
}
