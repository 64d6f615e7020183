package httpx

import (
	"math/rand"
	"strings"
	"testing"
)

// Differential: fast vs general path, fed whole and byte by byte, with the loop memo (its
// line caches and its head cache: a third of the inputs repeat the one before, whole or cut).
func TestParseFastSlowDifferential(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	hosts := []string{"Host: a", "Host: ", "Host:", "Host:a", "Host:  a ", "Host: \ta", "Host: a\t", "Host: \t", "Host: a b",
		"Host: [::1]:80", "Host: a:", "Host: a:x", "Host: %41", "Host: %4", "HOST: a", "host: a", "Host : a", "Host: a\x00",
		"Host: a\r", "Host: \x7f", "Host: é", "Host: a,b", "Host: " + strings.Repeat("h", 60), "Host: " + strings.Repeat("h", 47) + "x",
		"Host: a ", "Host: ab", "Host: " + strings.Repeat("h", 56)}
	others := []string{"X: y", " folded", "\tfolded", "Content-Length: 1", "Transfer-Encoding: chunked", "Connection: close", "Expect: 100-continue", "A:", "Hostx: a", "Hos: a"}
	lines := []string{"GET / HTTP/1.1", "GET /a%41?x HTTP/1.1", "GET /a%4 HTTP/1.1", "GET /?%zz HTTP/1.0", "GET http://a/b?c HTTP/1.1", "OPTIONS * HTTP/1.1", "GET /a#b HTTP/1.1",
		// near-copies of others, for the loop's memo of the last line (sameRequestLine)
		"GET /a HTTP/1.1", "GET /ab HTTP/1.1", "GET / HTTP/1.1 ", "GET  / HTTP/1.1", "POST / HTTP/1.1",
		"GET /" + strings.Repeat("p", 60) + " HTTP/1.1", "GET /" + strings.Repeat("p", 44) + " HTTP/1.1"}
	seps := []string{"\r\n", "\r\n", "\r\n", "\n", "\r", ""}
	lims := []limits{
		{requestLine: 256, headerBytes: 1024, headerCount: 16, body: 1 << 16},
		{requestLine: 8, headerBytes: 12, headerCount: 2, body: 1 << 16},
		{requestLine: 20, headerBytes: 30, headerCount: 3, body: 1 << 16},
	}
	var lcA, lcB loopCache
	var prev []byte
	for it := 0; it < 15000; it++ {
		var sb strings.Builder
		sb.WriteString(lines[rng.Intn(len(lines))])
		sb.WriteString("\r\n")
		n := rng.Intn(5)
		for i := 0; i < n; i++ {
			if rng.Intn(2) == 0 {
				sb.WriteString(hosts[rng.Intn(len(hosts))])
			} else {
				sb.WriteString(others[rng.Intn(len(others))])
			}
			sb.WriteString(seps[rng.Intn(len(seps))])
		}
		if rng.Intn(4) != 0 {
			sb.WriteString("\r\n")
		}
		in := []byte(sb.String())
		if rng.Intn(3) == 0 && prev != nil {
			in = append([]byte(nil), prev...)
			if rng.Intn(2) == 0 {
				in = append(in, "GET"...) // the next request's start
			}
		} else if rng.Intn(3) == 0 {
			in = in[:rng.Intn(len(in)+1)]
		}
		prev = in
		lim := &lims[rng.Intn(len(lims))] // the cache keys on the limits' address, as a Server's
		// whole
		var h, g reqHead
		h.reset()
		g.slow = true
		g.reset()
		h.memo, g.memo = &lcA, &lcB
		st := h.parseHead(in, lim)
		gst := g.parseHead(in, lim)
		if st != gst || !sameHead(&h, &g) {
			t.Fatalf("whole %q lim %+v: %d vs %d\n%+v\n%+v", in, lim, st, gst, h, g)
		}
		// incremental: each prefix (same parser state carried)
		var hi, gi reqHead
		hi.reset()
		gi.slow = true
		gi.reset()
		hi.memo, gi.memo = &lcA, &lcB
		step := 1 + rng.Intn(7)
		var sti, gsti int = statusNeedMore, statusNeedMore
		for k := 0; k <= len(in); k += step {
			if sti == statusNeedMore {
				sti = hi.parseHead(in[:k], lim)
			}
			if gsti == statusNeedMore {
				gsti = gi.parseHead(in[:k], lim)
			}
			if sti != gsti {
				t.Fatalf("incremental %q at %d step %d lim %+v: %d vs %d", in, k, step, lim, sti, gsti)
			}
		}
		if sti == statusNeedMore {
			sti = hi.parseHead(in, lim)
			gsti = gi.parseHead(in, lim)
		}
		if sti != gsti || !sameHead(&hi, &gi) {
			t.Fatalf("incremental end %q lim %+v: %d vs %d", in, lim, sti, gsti)
		}
		if sti != st && st != 414 && st != 431 && sti != 414 && sti != 431 {
			t.Logf("whole vs incremental differ %q: %d vs %d", in, st, sti)
		}
	}
}
