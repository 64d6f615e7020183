package httpx

import (
	"strings"
	"testing"
)

// TestParseTable sends one request per row through the engine and checks the status of the
// answer and whether the connection was closed. Every rejection rule has a row.
func TestParseTable(t *testing.T) {
	const h = "Host: a\r\n"
	long := strings.Repeat("a", DefaultMaxRequestLineBytes)
	manyFields := strings.Repeat("X-F: 1\r\n", DefaultMaxHeaderCount)
	bigField := "X-Big: " + strings.Repeat("b", DefaultMaxHeaderBytes) + "\r\n"
	tests := []struct {
		name   string
		in     string
		status int // 0: no answer (incomplete)
		closed bool
	}{
		// Valid requests.
		{"get", "GET / HTTP/1.1\r\n" + h + "\r\n", 200, false},
		{"query", "GET /a/b?x=1&y=%20 HTTP/1.1\r\n" + h + "\r\n", 200, false},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n" + h + "\r\n", 200, false},
		{"too many empty lines", strings.Repeat("\r\n", maxBlankLines+1) + "GET / HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"ows around value", "GET / HTTP/1.1\r\nHost:  a \t\r\nX: \t v \r\n\r\n", 200, false},
		{"obs-text value", "GET / HTTP/1.1\r\n" + h + "X: \xff\x80\r\n\r\n", 200, false},
		{"empty value", "GET / HTTP/1.1\r\n" + h + "X:\r\n\r\n", 200, false},
		{"content-length", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\n\r\nabc", 200, false},
		{"content-length zeros", "POST / HTTP/1.1\r\n" + h + "Content-Length: 003\r\n\r\nabc", 200, false},
		{"same content-length twice", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1\r\nContent-Length: 1\r\n\r\na", 200, false},
		{"chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, false},
		{"chunked ext", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3;a=b;c=\"d\\\"\" ;e\r\nabc\r\n0\r\n\r\n", 200, false},
		{"chunked trailer", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: v\r\n\r\n", 200, false},
		{"chunked empty list element", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: , chunked\r\n\r\n0\r\n\r\n", 200, false},
		{"absolute-form", "GET http://a:80/x?y HTTP/1.1\r\n" + h + "\r\n", 200, false},
		{"absolute-form no path", "GET http://a HTTP/1.1\r\n" + h + "\r\n", 200, false},
		{"options asterisk", "OPTIONS * HTTP/1.1\r\n" + h + "\r\n", 200, false},
		{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200, false},
		{"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 200, false},
		{"http/1.0 no host", "GET / HTTP/1.0\r\n\r\n", 200, true},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, false},
		{"http/1.2 as 1.1", "GET / HTTP/1.2\r\n" + h + "\r\n", 200, false},
		{"connection close", "GET / HTTP/1.1\r\n" + h + "Connection: close\r\n\r\n", 200, true},
		{"connection list close", "GET / HTTP/1.1\r\n" + h + "Connection: keep-alive, Close\r\n\r\n", 200, true},
		{"expect 100 with body", "POST / HTTP/1.1\r\n" + h + "Expect: 100-continue\r\nContent-Length: 1\r\n\r\na", 200, false},
		{"expect ignored in 1.0", "GET / HTTP/1.0\r\nExpect: something\r\n\r\n", 200, true},

		// Request-line.
		{"bare LF request-line", "GET / HTTP/1.1\n" + h + "\r\n", 400, true},
		{"bare CR request-line", "GET / HTTP/1.1\rX\r\n" + h + "\r\n", 400, true},
		{"double SP", "GET  / HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"trailing SP", "GET / HTTP/1.1 \r\n" + h + "\r\n", 400, true},
		{"bad method", "G(T / HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"no version", "GET /\r\n\r\n", 400, true},
		{"bad version", "GET / HTTP/1.10\r\n" + h + "\r\n", 400, true},
		{"lower-case version", "GET / http/1.1\r\n" + h + "\r\n", 400, true},
		{"version 2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", 505, true},
		{"version 0.9", "GET / HTTP/0.9\r\n" + h + "\r\n", 505, true},
		{"space in target", "GET /a b HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"fragment", "GET /a#b HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"quote in target", "GET /\"a\" HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"utf-8 in target", "GET /\xce\xb4 HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"bad percent", "GET /%zz HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"relative target", "GET a HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"asterisk with GET", "GET * HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"userinfo", "GET http://u@a/ HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"other scheme", "GET ftp://a/ HTTP/1.1\r\n" + h + "\r\n", 400, true},
		{"connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501, true},
		{"request-line too long", "GET /" + long + " HTTP/1.1\r\n" + h + "\r\n", 414, true},
		{"request-line too long, incomplete", "GET /" + long + long, 414, true},

		// Field lines.
		{"space before colon", "GET / HTTP/1.1\r\n" + h + "X : v\r\n\r\n", 400, true},
		{"tab before colon", "GET / HTTP/1.1\r\n" + h + "X\t: v\r\n\r\n", 400, true},
		{"no colon", "GET / HTTP/1.1\r\n" + h + "X v\r\n\r\n", 400, true},
		{"empty name", "GET / HTTP/1.1\r\n" + h + ": v\r\n\r\n", 400, true},
		{"non-token name", "GET / HTTP/1.1\r\n" + h + "X@: v\r\n\r\n", 400, true},
		{"obs-fold", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", 400, true},
		{"space after request-line", "GET / HTTP/1.1\r\n " + h + "\r\n", 400, true},
		{"bare LF field", "GET / HTTP/1.1\r\n" + h + "X: a\nY: b\r\n\r\n", 400, true},
		{"bare CR in value", "GET / HTTP/1.1\r\n" + h + "X: a\rb\r\n\r\n", 400, true},
		{"NUL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x00b\r\n\r\n", 400, true},
		{"CTL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x0cb\r\n\r\n", 400, true},
		{"header block ended by CR", "GET / HTTP/1.1\r\n" + h + "\rX", 400, true},
		{"too many fields", "GET / HTTP/1.1\r\n" + h + manyFields + "\r\n", 431, true},
		{"field section too big", "GET / HTTP/1.1\r\n" + h + bigField + "\r\n", 431, true},
		{"field section too big, incomplete", "GET / HTTP/1.1\r\n" + h + bigField, 431, true},

		// Host.
		{"no host 1.1", "GET / HTTP/1.1\r\n\r\n", 400, true},
		{"two hosts", "GET / HTTP/1.1\r\n" + h + h + "\r\n", 400, true},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, true},
		{"host obs-text", "GET / HTTP/1.1\r\nHost: \xffa\r\n\r\n", 400, true},
		{"host bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400, true},
		{"absolute-form without host", "GET http://a/ HTTP/1.1\r\n\r\n", 400, true},

		// Framing.
		{"differing content-length", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, true},
		{"content-length list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1, 1\r\n\r\na", 400, true},
		{"content-length sign", "POST / HTTP/1.1\r\n" + h + "Content-Length: +1\r\n\r\na", 400, true},
		{"content-length empty", "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n\r\n", 400, true},
		{"content-length overflow", "POST / HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999\r\n\r\n", 400, true},
		{"content-length too big", "POST / HTTP/1.1\r\n" + h + "Content-Length: 999999999\r\n\r\n", 413, true},
		{"te and cl", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"te in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"te unknown", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: pigeons\r\n\r\n", 501, true},
		{"te unknown then chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: cow, chunked\r\n\r\n0\r\n\r\n", 501, true},
		{"te gzip chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, true},
		{"te chunked not last", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, true},
		{"te identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n", 400, true},
		{"te chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"te quoted", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400, true},
		{"te empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n\r\n", 400, true},
		{"te with parameter", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;x=1\r\n\r\n", 400, true},

		// Chunked body.
		{"chunk size not hex", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nZ\r\n", 400, true},
		{"chunk size empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n\r\n", 400, true},
		{"chunk size overflow", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400, true},
		{"chunk size too big", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nfffffff\r\n", 413, true},
		{"chunk size trailing space", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1 \r\na\r\n0\r\n\r\n", 400, true},
		{"chunk size leading space", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n 1\r\na\r\n0\r\n\r\n", 400, true},
		{"chunk size 0x", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0x1\r\na\r\n0\r\n\r\n", 400, true},
		{"chunk ext no name", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;\r\na\r\n0\r\n\r\n", 400, true},
		{"chunk ext unterminated quote", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;a=\"b\r\na\r\n0\r\n\r\n", 400, true},
		{"chunk line bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n", 400, true},
		{"chunk line bare CR", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\r\na\r\n0\r\n\r\n", 400, true},
		{"chunk data too long", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", 400, true},
		{"chunk data bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n", 400, true},
		{"missing last chunk", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n\r\n", 400, true},
		{"bad trailer", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nT : v\r\n\r\n", 400, true},
		{"trailer obs-fold", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nT: v\r\n w\r\n\r\n", 400, true},

		// Expectations.
		{"expect other", "POST / HTTP/1.1\r\n" + h + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\na", 417, true},

		// Incomplete input: no answer yet.
		{"incomplete head", "GET / HTTP/1.1\r\n" + h, 0, false},
		{"incomplete body", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nab", 0, false},
		{"incomplete chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nab", 0, false},
	}
	cfg := testConfig(HandlerFunc(helloHandler))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 5} {
				if step > 0 && len(tc.in)/step > 4000 {
					step = len(tc.in) / 4000 // keep -race time bounded for the big rows
				}
				m := newMemConn(cfg)
				m.feedAll([]byte(tc.in), step)
				rs, note := parseResponses([]byte(m.output()), nil)
				if note != "" {
					t.Fatalf("step %d: malformed output (%s): %q", step, note, m.output())
				}
				got := 0
				if len(rs) > 0 {
					got = rs[0].status
				}
				if len(rs) > 1 {
					t.Fatalf("step %d: %d responses for one request: %v", step, len(rs), statuses(rs))
				}
				if got != tc.status || m.isClosed() != tc.closed {
					t.Fatalf("step %d: status %d closed %v, want %d closed %v; output %q",
						step, got, m.isClosed(), tc.status, tc.closed, m.output())
				}
				if got >= 400 && rs[0].headers["connection"] != "close" {
					t.Fatalf("error response without Connection: close: %q", m.output())
				}
			}
		})
	}
}

// TestParseHeadFields checks what the parser extracts from a valid head.
func TestParseHeadFields(t *testing.T) {
	req := []byte("POST http://Example.com:81/p/a?q=1 HTTP/1.1\r\nHost: ignored\r\nX-A:  v1 \r\n" +
		"Content-Length: 4\r\nConnection: keep-alive, Upgrade\r\n\r\nbody")
	var h reqHead
	h.reset()
	lim := limits{requestLine: 100, headerBytes: 1000, headerCount: 10, body: 100}
	if st := h.parseHead(req, &lim); st != statusOK {
		t.Fatalf("status %d", st)
	}
	check := func(what string, got []byte, want string) {
		t.Helper()
		if string(got) != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("method", h.method.get(req), "POST")
	check("target", h.target.get(req), "http://Example.com:81/p/a?q=1")
	check("authority", h.authority.get(req), "Example.com:81")
	check("path", h.path.get(req), "/p/a")
	check("query", h.query.get(req), "q=1")
	check("field name", h.fields[1].name.get(req), "X-A")
	check("field value", h.fields[1].value.get(req), "v1")
	if h.contentLen != 4 || h.chunked || h.connClose || !h.keepAlive || h.minor != 1 {
		t.Errorf("framing: %+v", h)
	}
	if string(req[h.headLen:]) != "body" {
		t.Errorf("headLen %d", h.headLen)
	}
}
