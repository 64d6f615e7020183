package httpx

import (
	"math/rand"
	"strings"
	"testing"
)

// The engine answers alike with the parser's fast paths on and off, for any input split.
func TestEngineFastSlow(t *testing.T) {
	types := []string{"text/plain", "text/plain", "a\r\nX: y", "", "text/html; charset=utf-8", "b\x00"}
	h := HandlerFunc(func(c *Ctx) {
		c.SetContentType(types[len(c.Path())%len(types)])
		c.Write(c.Method())
		c.WriteString(" [")
		c.Write(c.Host())
		c.WriteString("] ")
		c.Write(c.Path())
		c.WriteString(" ")
		c.Write(c.QueryString())
	})
	cfg := testConfig(h)
	cfg.lim = limits{requestLine: 64, headerBytes: 96, headerCount: 6, body: 1 << 16}
	rng := rand.New(rand.NewSource(2))
	hostLines := []string{"Host: a", "Host: ", "Host:", "Host:a", "Host:  a ", "Host: \ta", "Host: a\t", "Host: a b", "Host: [::1]:80",
		"Host: a:x", "HOST: a", "host: b", "Host: " + strings.Repeat("h", 50), "Host: a\r\n b", "Host: b"}
	others := []string{"X: y", "Content-Length: 1", "A:", "Hostx: a", "Expect: 100-continue", "X: " + strings.Repeat("v", 40)}
	targets := []string{"/", "/ab", "/abc", "/abcd", "/x?y", "/a%41?x=1", "/a%4", "/?%zz", "/a?b?c", "/p/q/r", "http://a/b?c", "/a#b", "/" + strings.Repeat("p", 60)}
	for it := 0; it < 30000; it++ {
		var sb strings.Builder
		for r := rng.Intn(3) + 1; r > 0; r-- {
			sb.WriteString("GET " + targets[rng.Intn(len(targets))] + " HTTP/1.1\r\n")
			hostAt := rng.Intn(3)
			for n := 0; n < 3; n++ {
				if n == hostAt {
					if rng.Intn(4) == 0 {
						sb.WriteString(hostLines[rng.Intn(len(hostLines))])
					} else {
						sb.WriteString([]string{"Host: a", "Host: b:80", "Host: ", "Host:\tc", "host: a", "Host: a "}[rng.Intn(6)])
					}
				} else if rng.Intn(8) == 0 {
					sb.WriteString(hostLines[rng.Intn(len(hostLines))])
				} else if rng.Intn(2) == 0 {
					sb.WriteString(others[rng.Intn(len(others))])
				} else {
					continue
				}
				sb.WriteString("\r\n")
			}
			sb.WriteString("\r\n")
			if strings.Contains(sb.String(), "Content-Length: 1") {
				sb.WriteString("z")
			}
		}
		in := []byte(sb.String())
		step := 1 + rng.Intn(12)
		fast, slow := newMemConn(cfg), newMemConn(cfg)
		slow.e.head.slow = true
		slow.e.head.reset()
		fast.feedAll(in, step)
		slow.feedAll(in, step)
		if a, b := fast.output(), slow.output(); a != b || fast.isClosed() != slow.isClosed() {
			t.Fatalf("input %q step %d:\nfast %q\nslow %q", in, step, a, b)
		}
		if it < 3 {
			t.Logf("%q -> %q", in, fast.output())
		}
		if o := fast.output(); strings.Contains(o, "X: y") || strings.Contains(o, "b\x00") {
			t.Fatalf("bad content type sent: %q", o)
		}
	}
}
