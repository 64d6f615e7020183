package httpx

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// Engine-level differential: connections of one loop share the memo (lc) vs. the same
// connections with no memo. Outputs must be equal byte for byte.
func TestMemoEngineDifferential(t *testing.T) {
	h := HandlerFunc(func(c *Ctx) {
		fmt.Fprintf(c, "m=%q u=%q p=%q q=%q h=%q pr=%s cl=%d b=%q\n", c.Method(), c.URI(), c.Path(), c.QueryString(), c.Host(), c.Proto(), c.ContentLength(), c.Body())
		c.VisitHeaders(func(n, v []byte) { fmt.Fprintf(c, "%q=%q\n", n, v) })
	})
	lines := []string{"GET / HTTP/1.1", "GET /a?b HTTP/1.1", "GET /a?b HTTP/1.0", "POST /a?b HTTP/1.1", "GET http://x/a?b HTTP/1.1",
		"OPTIONS * HTTP/1.1", "CONNECT x:1 HTTP/1.1", "GET /" + strings.Repeat("p", 49) + " HTTP/1.1", "HEAD / HTTP/1.1", "GET /%41 HTTP/1.1", "GET / HTTP/1.2"}
	hosts := []string{"Host: a", "Host: a:80", "Host: b", "Host: ", "host: a", "Host: a ", "Host: " + strings.Repeat("h", 50), "Host: a\r\nHost: a"}
	others := []string{"X: y", "Connection: close", "Connection: keep-alive", "Content-Length: 3", "Transfer-Encoding: chunked", "Expect: 100-continue"}
	rng := rand.New(rand.NewSource(7))
	ok200 := 0
	defer func() { t.Logf("200s: %d", ok200) }()
	for it := 0; it < 3000; it++ {
		lims := []limits{{requestLine: 8 << 10, headerBytes: 64 << 10, headerCount: 100, body: 1 << 20},
			{requestLine: 14 + rng.Intn(50), headerBytes: 10 + rng.Intn(60), headerCount: 1 + rng.Intn(4), body: 1 << 20}}
		lim := lims[rng.Intn(2)]
		cfg := testConfig(h)
		cfg.lim = lim
		lcA := newLoopCache(time.Unix(1700000000, 0))
		lcB := newLoopCache(time.Unix(1700000000, 0))
		nc := 1 + rng.Intn(3)
		var as, bs []*memConn
		for i := 0; i < nc; i++ {
			a := &memConn{}
			a.e = newEngine(cfg, a, lcA)
			b := &memConn{}
			b.e = newEngine(cfg, b, lcB)
			b.e.head.memo = nil
			as, bs = append(as, a), append(bs, b)
		}
		for round := 0; round < 6; round++ {
			i := rng.Intn(nc)
			var sb strings.Builder
			for k := 0; k < 1+rng.Intn(3); k++ {
				sb.WriteString(lines[rng.Intn(len(lines))] + "\r\n")
				if rng.Intn(4) != 0 {
					sb.WriteString(hosts[rng.Intn(3)] + "\r\n")
				}
				hasBody := false
				for j := 0; j < rng.Intn(3); j++ {
					if rng.Intn(2) == 0 {
						sb.WriteString(hosts[rng.Intn(len(hosts))] + "\r\n")
					} else {
						o := others[rng.Intn(len(others))]
						if strings.HasPrefix(o, "Content-Length") {
							hasBody = true
						}
						sb.WriteString(o + "\r\n")
					}
				}
				sb.WriteString("\r\n")
				if hasBody {
					sb.WriteString("abc")
				}
			}
			in := []byte(sb.String())
			step := 1 + rng.Intn(len(in))
			if rng.Intn(2) == 0 {
				step = len(in)
			}
			for p := 0; p < len(in); p += step {
				end := min(p+step, len(in))
				chunk := in[p:end]
				if !as[i].closed {
					as[i].e.feed(append([]byte(nil), chunk...))
				}
				if !bs[i].closed {
					bs[i].e.feed(append([]byte(nil), chunk...))
				}
			}
			ok200 += strings.Count(as[i].out.String(), " 200 OK")
			if as[i].out.String() != bs[i].out.String() || as[i].closed != bs[i].closed {
				t.Fatalf("it %d conn %d lim %+v input %q:\nmemo:   %q\nnomemo: %q", it, i, lim, in, as[i].out.String(), bs[i].out.String())
			}
		}
	}
}
