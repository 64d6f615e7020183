package httpx

import (
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Fields declared as trailers that RFC 9110 6.5.1 does not allow there (framing, routing,
// authentication...) are dropped from the trailer section by net/http
// (httpguts.ValidTrailerHeader); FromHTTP wrote them.
func TestFromHTTPForbiddenTrailerFields(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Content-Length, Transfer-Encoding, Host, X-T")
		w.Write([]byte("ok"))
		w.Header().Set("Content-Length", "99")
		w.Header().Set("Transfer-Encoding", "gzip")
		w.Header().Set("Host", "evil")
		w.Header().Set("X-T", "1")
	})
	trailers := func(t *testing.T, addr string) textproto.MIMEHeader {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		all, _ := io.ReadAll(c)
		s := string(all)
		i := strings.Index(s, "\r\n0\r\n")
		if i < 0 {
			t.Fatalf("no last chunk in %q", s)
		}
		tr, err := textproto.NewReader(bufio.NewReader(strings.NewReader(s[i+5:]))).ReadMIMEHeader()
		if err != nil {
			t.Fatalf("trailer section %q: %v", s[i+5:], err)
		}
		return tr
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.Start()
	defer ts.Close()
	want := trailers(t, ts.Listener.Addr().String())
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		got := trailers(t, addr)
		for _, k := range []string{"Content-Length", "Transfer-Encoding", "Host"} {
			if v, ok := got[k]; ok {
				t.Errorf("trailer section holds %s: %q (net/http's: %v)", k, v, want)
			}
		}
		if got.Get("X-T") != "1" {
			t.Errorf("X-T trailer %q", got.Get("X-T"))
		}
	})
}
