package httpx

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /p?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\"y\"\r\nabc\r\n0\r\nT: v\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
	"GET http://a:1/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
}

// FuzzParse feeds arbitrary bytes to the head parser and, when the head is accepted, to the
// chunk decoder. It must never panic, what it accepts must satisfy the grammar, and the
// one-pass line parsers must reach exactly the result of the general path.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	lim := limits{requestLine: 256, headerBytes: 1024, headerCount: 16, body: 1 << 16}
	f.Fuzz(func(t *testing.T, in []byte) {
		var h, g reqHead
		h.reset()
		g.slow = true
		g.reset()
		st := h.parseHead(in, &lim)
		if gst := g.parseHead(in, &lim); gst != st || !sameHead(&h, &g) {
			t.Fatalf("fast and general paths differ on %q: status %d vs %d\n%+v\n%+v", in, st, gst, h, g)
		}
		// Twice through a loop's cache: the second parse may come from its head cache.
		var lc loopCache
		for i := 0; i < 2; i++ {
			var m reqHead
			m.reset()
			m.memo = &lc
			if mst := m.parseHead(in, &lim); mst != st || !sameHead(&m, &g) {
				t.Fatalf("parse %d with the loop's cache differs on %q: status %d vs %d\n%+v\n%+v", i, in, mst, st, m, g)
			}
		}
		if st != statusOK {
			if st != statusNeedMore && (st < 400 || st > 599) {
				t.Fatalf("status %d", st)
			}
			return
		}
		if !isToken(h.method.get(in)) || h.headLen > len(in) || !bytes.HasSuffix(in[:h.headLen], []byte("\r\n\r\n")) {
			t.Fatalf("accepted a bad head: %q", in[:h.headLen])
		}
		for _, fl := range h.fields {
			if !isToken(fl.name.get(in)) || bytes.ContainsAny(fl.value.get(in), "\r\n\x00") {
				t.Fatalf("accepted a bad field %q: %q", fl.name.get(in), fl.value.get(in))
			}
		}
		if h.chunked && h.clCount > 0 {
			t.Fatal("accepted two framings")
		}
		if h.minor == 1 && h.hostCount != 1 {
			t.Fatal("accepted HTTP/1.1 without exactly one Host")
		}
		if !h.chunked {
			return
		}
		var d chunkDecoder
		pos := h.headLen
		total := 0
		for i := 0; i < len(in)+2; i++ {
			np, data, st := d.next(in, pos, &lim)
			if np < pos || np > len(in) {
				t.Fatalf("position went from %d to %d", pos, np)
			}
			pos = np
			total += len(data)
			if st != statusOK {
				if st == statusChunkDone && int64(total) != d.total {
					t.Fatalf("decoded %d, decoder says %d", total, d.total)
				}
				return
			}
		}
		t.Fatal("chunk decoder made no progress")
	})
}

// sameHead reports whether two parse results are equal, besides the test-only switch.
func sameHead(a, b *reqHead) bool {
	x, y := *a, *b
	x.fields, y.fields, x.slow, y.slow, x.memo, y.memo = nil, nil, false, false, nil, nil
	return reflect.DeepEqual(x, y) && slices.Equal(a.fields, b.fields)
}

// fuzzEcho answers with the method, path and body length.
func fuzzEcho(c *Ctx) {
	c.Write(c.Method())
	c.WriteString(" ")
	c.Write(c.Path())
	c.WriteString(fmt.Sprintf(" %d", len(c.Body())))
}

// FuzzServer runs the whole engine on arbitrary input fed in arbitrary pieces. It must never
// panic; the output must be well-formed; splitting must not change it; no 2xx may follow an
// error; an error must close; and no more requests may be answered than the input can hold.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(1), uint8(7))
	}
	cfg := testConfig(HandlerFunc(fuzzEcho))
	cfg.lim = limits{requestLine: 256, headerBytes: 1024, headerCount: 16, body: 1 << 16}
	f.Fuzz(func(t *testing.T, in []byte, s1, s2 uint8) {
		whole := newMemConn(cfg)
		whole.feedAll(in, 0)
		split := newMemConn(cfg)
		steps := []int{int(s1%32) + 1, int(s2%32) + 1}
		for i, off := 0, 0; off < len(in) && !split.isClosed(); i++ {
			n := min(steps[i%2], len(in)-off)
			split.e.feed(in[off : off+n])
			off += n
		}
		// Splitting may change which error is seen first (a line too long before its bare LF
		// arrives) and whether 100 Continue is sent, but nothing else.
		out := whole.output()
		if a, b := outcome(out), outcome(split.output()); a != b || split.isClosed() != whole.isClosed() {
			t.Fatalf("split outcome differs:\nwhole %q\nsplit %q", out, split.output())
		}
		rs, note := parseResponses([]byte(out), nil)
		if note != "" {
			t.Fatalf("malformed output (%s): %q", note, out)
		}
		served, failed := 0, false
		for _, r := range rs {
			switch {
			case r.status >= 200 && r.status < 300:
				if failed {
					t.Fatalf("2xx after an error: %q", out)
				}
				served++
				fields := bytes.Fields(r.body)
				if len(fields) != 3 || !bytes.Contains(in, fields[0]) {
					t.Fatalf("response %q does not match the input", r.body)
				}
			case r.status >= 400:
				failed = true
				if r.headers["connection"] != "close" {
					t.Fatalf("error without Connection: close: %q", out)
				}
			}
		}
		if failed && !whole.isClosed() {
			t.Fatal("error response but the connection stays open")
		}
		if max := bytes.Count(in, []byte("\r\n\r\n")); served > max {
			t.Fatalf("served %d requests from input holding at most %d", served, max)
		}
	})
}

// outcome summarises an output stream: 2xx responses verbatim, errors as "error".
func outcome(out string) string {
	out = strings.ReplaceAll(out, continueResponse, "")
	rs, note := parseResponses([]byte(out), nil)
	var b strings.Builder
	for _, r := range rs {
		if r.status >= 400 {
			b.WriteString("error;")
			continue
		}
		fmt.Fprintf(&b, "%d %q;", r.status, r.body)
	}
	return b.String() + note
}
