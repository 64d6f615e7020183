package httpx

import (
	"net/http"
	"net/url"
	"reflect"
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
		if !buildRequest(&r, []byte(raw), &m.e.head, "1.2.3.4:5", new(reqParts)) {
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
			!reflect.DeepEqual(r.Header, http.Header{"Host": {"x"}, "Accept": {"a"}, "X-Dup": {"1", "2"}}) {
			t.Errorf("%s: request %+v", target, r)
		}
	}
}
