package httpx

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestReview19ContinueExpectWire: exact 100 Continue counts on both paths for Expect variants, with the
// body split across writes and a request pipelined behind.
func TestReview19ContinueExpectWire(t *testing.T) {
	type tc struct {
		name   string
		parts  []string
		want   int // 100s expected
		finals int
	}
	next := "GET /n HTTP/1.1\r\nHost: a\r\n\r\n"
	cases := []tc{
		{"http10", []string{"POST / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", "ab", "cd" + next}, 0, 2},
		{"cl0", []string{"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n" + next}, 0, 2},
		{"split3", []string{"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", "ab", "cd" + next}, 1, 2},
		{"chunked", []string{"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", "2\r\nab\r\n", "2\r\ncd\r\n0\r\n\r\n" + next}, 1, 2},
	}
	fast := HandlerFunc(func(c *Ctx) { c.WriteString("body=" + string(c.Body())) })
	slow := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, "body="+string(b))
	}))
	for _, hc := range []struct {
		name string
		h    Handler
	}{{"fast", fast}, {"fromhttp", slow}} {
		for _, c := range cases {
			t.Run(hc.name+"/"+c.name, func(t *testing.T) {
				forEachBackend(t, func(t *testing.T, b reactor.Backend) {
					addr := startServer(t, b, &Server{Handler: hc.h, ReadTimeout: 2 * time.Second})
					conn, err := net.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
					for _, p := range c.parts {
						io.WriteString(conn, p)
						time.Sleep(50 * time.Millisecond)
					}
					conn.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
					all, _ := io.ReadAll(conn)
					n100 := bytes.Count(all, []byte("HTTP/1.1 100 Continue"))
					nfin := bytes.Count(all, []byte("HTTP/1.1 200")) + bytes.Count(all, []byte("HTTP/1.0 200"))
					if n100 != c.want || nfin != c.finals {
						t.Fatalf("100s %d (want %d), finals %d (want %d):\n%s", n100, c.want, nfin, c.finals, strings.ReplaceAll(string(all), "\r\n", "|"))
					}
					if i := bytes.Index(all, []byte(" 100 Continue")); i >= 0 && bytes.Contains(all[:i], []byte(" 200 ")) {
						t.Fatalf("100 after the final response")
					}
				})
			})
		}
	}
}
