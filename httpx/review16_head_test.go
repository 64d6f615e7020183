package httpx

import (
	"bufio"
	"io"
	"net/http"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// A fast-path handler that leaves out the body of a HEAD response (it may: the engine
// discards it anyway) must not have "Content-Length: 0" announced for it: RFC 9110 8.6 allows
// a Content-Length in a HEAD response only with the length GET would send. net/http sends none
// when a HEAD handler wrote nothing (and FromHTTP does the same, TestAdapterHeadLength).
func TestFastHeadNoBodyLength(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			c.SetContentType("text/plain")
			if string(c.Method()) != http.MethodHead {
				c.WriteString("hello")
			}
		})})
		c := dial(t, addr)
		io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"+
			"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
		br := bufio.NewReader(c)
		for i, m := range []string{"HEAD", "GET", "HEAD", "GET"} {
			resp, err := http.ReadResponse(br, &http.Request{Method: m})
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			cl := resp.Header.Get("Content-Length")
			t.Logf("%s: Content-Length %q body %q close %v", m, cl, body, resp.Close)
			if m == "HEAD" && cl != "" && cl != "5" {
				t.Errorf("HEAD response %d announces Content-Length %q; GET sends 5 bytes (net/http: no Content-Length)", i, cl)
			}
			if resp.Close {
				t.Fatalf("response %d closes the connection", i)
			}
		}
	})
}
