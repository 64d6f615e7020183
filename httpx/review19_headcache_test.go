package httpx

import (
	"math/rand"
	"strings"
	"testing"
)

// Heads drawn from a small pool, so that most repeat one the loop's head
// cache holds, parsed through one shared cache under three limits and
// compared with the general parser: status and result must be equal (the
// other differential tests reach the cache only a few times per thousand).
func TestHeadCacheAgainstGeneralParse(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	lines := []string{"GET / HTTP/1.1", "GET /a?b HTTP/1.0", "POST /x HTTP/1.1", "GET http://h/a HTTP/1.1", "OPTIONS * HTTP/1.1", "GET / HTTP/1.3", "GET /" + strings.Repeat("p", 100) + " HTTP/1.1"}
	fields := []string{"Host: a", "Host: b:1", "X: y", "Content-Length: 5", "Content-Length: 0", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "Connection: close", "Connection: keep-alive", "Expect: 100-continue", "Expect: x", "X-Long: " + strings.Repeat("v", 60), "host: a", "A:\t b \t"}
	lims := []limits{
		{requestLine: 8 << 10, headerBytes: 32 << 10, headerCount: 100, body: 1 << 20},
		{requestLine: 20, headerBytes: 40, headerCount: 3, body: 3},
		{requestLine: 40, headerBytes: 80, headerCount: 5, body: 10},
	}
	var lc loopCache
	pool := make([][]byte, 0, 6)
	for it := 0; it < 60000; it++ {
		var in []byte
		if len(pool) > 0 && rng.Intn(3) != 0 {
			in = pool[rng.Intn(len(pool))]
		} else {
			in = randomHead(rng, lines, fields, 10)
			if rng.Intn(2) == 0 {
				in = append(in, "GET / HTTP/1.1\r\n"...) // the next request's start
			}
			if len(pool) < cap(pool) {
				pool = append(pool, in)
			} else {
				pool[rng.Intn(len(pool))] = in
			}
		}
		lim := &lims[rng.Intn(len(lims))]
		var h, g reqHead
		h.reset()
		h.memo = &lc
		g.slow = true
		g.reset()
		st, gst := h.parseHead(in, lim), g.parseHead(in, lim)
		if st != gst || !sameHead(&h, &g) {
			t.Fatalf("%q lim %+v: status %d, general parser %d\n%+v\n%+v", in, *lim, st, gst, h, g)
		}
	}
}

// The cache keeps the result of a head parsed as it arrived, piece by piece,
// and gives it to a head that came whole: the two must agree.
func TestHeadParsedInPiecesEqualsWhole(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	lines := []string{"GET / HTTP/1.1", "GET /a?b HTTP/1.0", "POST /x HTTP/1.1", "GET http://h/a HTTP/1.1", "OPTIONS * HTTP/1.1", "GET / HTTP/1.3"}
	fields := []string{"Host: a", "Host: b:1", "X: y", "Content-Length: 5", "Transfer-Encoding: chunked", "Connection: close", "Connection: keep-alive", "Expect: 100-continue", "host: a", "A:\t b \t", "Y:  "}
	lim := &limits{requestLine: 8 << 10, headerBytes: 32 << 10, headerCount: 100, body: 1 << 20}
	var lc loopCache
	for it := 0; it < 20000; it++ {
		in := randomHead(rng, lines, fields, 6)
		var g reqHead
		g.slow = true
		g.reset()
		gst := g.parseHead(in, lim)
		var h reqHead
		h.reset()
		h.memo = &lc
		step := 1 + rng.Intn(9)
		st := statusNeedMore
		for k := 0; k <= len(in) && st == statusNeedMore; k += step {
			st = h.parseHead(in[:k], lim)
		}
		if st == statusNeedMore {
			st = h.parseHead(in, lim)
		}
		if st != gst || st == statusOK && !sameHead(&h, &g) {
			t.Fatalf("%q in pieces of %d: status %d, whole %d\n%+v\n%+v", in, step, st, gst, h, g)
		}
	}
}

// randomHead is a request-line and up to maxFields-1 field lines drawn from
// the given ones, and the blank line.
func randomHead(rng *rand.Rand, lines, fields []string, maxFields int) []byte {
	var sb strings.Builder
	sb.WriteString(lines[rng.Intn(len(lines))] + "\r\n")
	for i := rng.Intn(maxFields); i > 0; i-- {
		sb.WriteString(fields[rng.Intn(len(fields))] + "\r\n")
	}
	sb.WriteString("\r\n")
	return []byte(sb.String())
}
