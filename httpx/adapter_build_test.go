package httpx

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// buildRequest builds simple URLs without url.ParseRequestURI; they must be what it returns.
func TestBuildRequestURLMatchesParse(t *testing.T) {
	cfg := testConfig(HandlerFunc(helloHandler))
	for _, target := range []string{"/", "/a/b", "/a?b=c", "/a?", "/a?b=c&d", "/a%20b", "/a;b?x=1",
		"/~u/x.y-z_", "/a/../b", "*"} {
		m := newMemConn(cfg)
		raw := "OPTIONS " + target + " HTTP/1.1\r\nHost: x\r\nAccept: a\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"
		if st := m.e.head.parseHead([]byte(raw), &cfg.lim); st != statusOK {
			t.Fatalf("%s: parse status %d", target, st)
		}
		var r http.Request
		if !buildRequest(&r, []byte(raw), &m.e.head, "1.2.3.4:5", new(reqParts), nil) {
			t.Fatalf("%s: not built", target)
		}
		want := &url.URL{Path: "*"}
		if target != "*" {
			var err error
			if want, err = url.ParseRequestURI(target); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(r.URL, want) {
			t.Errorf("%s: URL %#v, want %#v", target, r.URL, want)
		}
		if r.Method != "OPTIONS" || r.Host != "x" || r.RequestURI != target ||
			!reflect.DeepEqual(r.Header, http.Header{"Accept": {"a"}, "X-Dup": {"1", "2"}}) {
			t.Errorf("%s: request %+v", target, r)
		}
	}
}

// The Request FromHTTP handlers get looks as net/http's server presents the same bytes
// (http.ReadRequest): Host promoted to Request.Host and out of the Header map, Pragma: no-cache
// standing for Cache-Control, repeated fields in order, the framing fields, Close.
func TestBuildRequestMatchesNetHTTP(t *testing.T) {
	cfg := testConfig(HandlerFunc(helloHandler))
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"GET /p?q=1 HTTP/1.1\r\nhost: Example.com:8080\r\nAccept: */*\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
		"GET /a HTTP/1.0\r\n\r\n",
		"GET /a HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\nCache-Control: max-age=0\r\n\r\n",
		"GET http://other.example/x?y HTTP/1.1\r\nHost: ignored\r\n\r\n",
		"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
		"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\nX-Long-Custom-Header-Name: v  w \r\n\r\n",
		"DELETE /%7Eu/a%20b HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2\r\nuser-agent: t\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n",
		"POST /u HTTP/1.1\r\nHost: h\r\nTrailer: X-Sum, x-time\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTrailer: X-Sum\r\n\r\n",
	} {
		want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("%q: net/http: %v", raw, err)
		}
		m := newMemConn(cfg)
		if st := m.e.head.parseHead([]byte(raw), &cfg.lim); st != statusOK {
			t.Fatalf("%q: parse status %d", raw, st)
		}
		var r http.Request
		if !buildRequest(&r, []byte(raw), &m.e.head, "1.2.3.4:5", new(reqParts), nil) {
			t.Fatalf("%q: not built", raw)
		}
		if r.Method != want.Method || !reflect.DeepEqual(r.URL, want.URL) || r.Proto != want.Proto ||
			r.ProtoMajor != want.ProtoMajor || r.ProtoMinor != want.ProtoMinor ||
			!reflect.DeepEqual(r.Header, want.Header) || r.Host != want.Host ||
			r.RequestURI != want.RequestURI || r.ContentLength != want.ContentLength ||
			!reflect.DeepEqual(r.TransferEncoding, want.TransferEncoding) || r.Close != want.Close ||
			!reflect.DeepEqual(r.Trailer, want.Trailer) {
			t.Errorf("%q:\n got  %s %#v %s hdr=%v host=%q uri=%q cl=%d te=%v close=%v\n want %s %#v %s hdr=%v host=%q uri=%q cl=%d te=%v close=%v",
				raw, r.Method, r.URL, r.Proto, r.Header, r.Host, r.RequestURI, r.ContentLength, r.TransferEncoding, r.Close,
				want.Method, want.URL, want.Proto, want.Header, want.Host, want.RequestURI, want.ContentLength, want.TransferEncoding, want.Close)
		}
	}
}

// FuzzBuildRequest: whenever the parser accepts a head and net/http's http.ReadRequest accepts
// the same bytes, the Request FromHTTP builds must match what net/http's server would present
// (see TestBuildRequestMatchesNetHTTP).
func FuzzBuildRequest(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("POST /u HTTP/1.1\r\nHost: h\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\nPragma: no-cache\r\n\r\n"))
	f.Add([]byte("GET /%7Ea/b?c=d&e HTTP/1.1\r\nhost: h:1\r\nCookie: a\r\ncookie: b\r\n\r\n"))
	cfg := testConfig(HandlerFunc(helloHandler))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := newMemConn(cfg)
		if st := m.e.head.parseHead(raw, &cfg.lim); st != statusOK {
			return
		}
		var r http.Request
		if !buildRequest(&r, raw, &m.e.head, "1.2.3.4:5", new(reqParts), nil) {
			return // answered 400
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return // net/http refuses what the stricter parser accepted: nothing to compare
		}
		if r.Method != want.Method || r.URL.String() != want.URL.String() || r.Proto != want.Proto ||
			r.ProtoMinor != want.ProtoMinor || !reflect.DeepEqual(r.Header, want.Header) ||
			r.Host != want.Host || r.RequestURI != want.RequestURI ||
			r.ContentLength != want.ContentLength || r.Close != want.Close ||
			!reflect.DeepEqual(r.TransferEncoding, want.TransferEncoding) ||
			!reflect.DeepEqual(r.Trailer, want.Trailer) {
			t.Fatalf("%q:\n got  %s %q %s hdr=%v host=%q cl=%d te=%v tr=%v close=%v\n want %s %q %s hdr=%v host=%q cl=%d te=%v tr=%v close=%v",
				raw, r.Method, r.URL, r.Proto, r.Header, r.Host, r.ContentLength, r.TransferEncoding, r.Trailer, r.Close,
				want.Method, want.URL, want.Proto, want.Header, want.Host, want.ContentLength, want.TransferEncoding, want.Trailer, want.Close)
		}
	})
}

// buildRequest reuses the loop's last joined string of target and field values only for a
// request that repeats them exactly: requests of the same lengths, or with the parts split
// differently between target and fields, get their own.
func TestBuildRequestReusesOnlySameParts(t *testing.T) {
	cfg := testConfig(HandlerFunc(helloHandler))
	var last string
	for i, c := range []struct{ target, host, accept string }{
		{"/ab", "cd", "ef"}, {"/ab", "cd", "ef"}, {"/ab", "cd", "eg"}, {"/ab", "ce", "eg"},
		{"/xb", "ce", "eg"}, {"/abc", "d", "ef"}, {"/ab", "cde", "f"}, {"/ab", "cd", "ef"},
	} {
		m := newMemConn(cfg)
		raw := "GET " + c.target + " HTTP/1.1\r\nHost: " + c.host + "\r\nAccept: " + c.accept + "\r\n\r\n"
		if st := m.e.head.parseHead([]byte(raw), &cfg.lim); st != statusOK {
			t.Fatalf("%d: parse status %d", i, st)
		}
		var r http.Request
		before := last
		if !buildRequest(&r, []byte(raw), &m.e.head, "1.2.3.4:5", new(reqParts), &last) {
			t.Fatalf("%d: not built", i)
		}
		if r.URL.Path != c.target || r.RequestURI != c.target || r.Host != c.host || r.Header.Get("Accept") != c.accept {
			t.Errorf("%d: path %q URI %q host %q accept %q, want %+v", i, r.URL.Path, r.RequestURI, r.Host, r.Header.Get("Accept"), c)
		}
		if want := c.target + c.host + c.accept; last != want {
			t.Errorf("%d: kept %q, want %q (before %q)", i, last, want, before)
		}
	}
	// A repeat saves the string's allocation (the Header map's remain).
	m := newMemConn(cfg)
	raw := []byte("GET /ab HTTP/1.1\r\nHost: cd\r\nAccept: ef\r\n\r\n")
	m.e.head.parseHead(raw, &cfg.lim)
	var r http.Request
	parts := new(reqParts)
	buildRequest(&r, raw, &m.e.head, "", parts, &last)
	kept := testing.AllocsPerRun(100, func() { buildRequest(&r, raw, &m.e.head, "", parts, &last) })
	fresh := testing.AllocsPerRun(100, func() { buildRequest(&r, raw, &m.e.head, "", parts, nil) })
	if kept != fresh-1 {
		t.Errorf("a repeated request: %v allocations, %v without the loop's string: want one less", kept, fresh)
	}
}
