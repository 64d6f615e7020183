package httpx

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// echoPath answers with the request path and body, so tests can check which request each
// response belongs to.
func echoPath(c *Ctx) {
	c.SetContentType("text/plain")
	c.Write(c.Path())
	if len(c.Body()) > 0 {
		c.WriteString(":")
		c.Write(c.Body())
	}
}

func quietConfig(h Handler) *config {
	cfg := testConfig(h)
	cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

func TestKeepAliveAndPipeliningOrder(t *testing.T) {
	cfg := testConfig(HandlerFunc(echoPath))
	var in bytes.Buffer
	var want []string
	for i := 0; i < 16; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&in, "GET /r%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
			want = append(want, fmt.Sprintf("/r%d", i))
		case 1:
			fmt.Fprintf(&in, "POST /r%d HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nb%02d", i, i)
			want = append(want, fmt.Sprintf("/r%d:b%02d", i, i))
		case 2:
			fmt.Fprintf(&in, "PUT /r%d HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nc%d\r\n0\r\n\r\n", i, i%10)
			want = append(want, fmt.Sprintf("/r%d:c%d", i, i%10))
		}
	}
	for _, step := range []int{0, 1, 3, 100} {
		m := newMemConn(cfg)
		m.feedAll(in.Bytes(), step)
		rs, note := parseResponses([]byte(m.output()), nil)
		if note != "" || len(rs) != len(want) {
			t.Fatalf("step %d: %d responses (%s), want %d", step, len(rs), note, len(want))
		}
		for i, r := range rs {
			if r.status != 200 || string(r.body) != want[i] {
				t.Fatalf("step %d: response %d = %d %q, want 200 %q", step, i, r.status, r.body, want[i])
			}
		}
		if m.isClosed() {
			t.Fatalf("step %d: keep-alive connection closed", step)
		}
	}
}

func TestConnectionCloseStopsParsing(t *testing.T) {
	m := newMemConn(testConfig(HandlerFunc(echoPath)))
	m.feedAll([]byte("GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"), 0)
	rs, _ := parseResponses([]byte(m.output()), nil)
	if len(rs) != 1 || string(rs[0].body) != "/a" || rs[0].headers["connection"] != "close" || !m.isClosed() {
		t.Fatalf("got %q closed=%v", m.output(), m.isClosed())
	}
}

func TestHTTP10KeepAlive(t *testing.T) {
	m := newMemConn(testConfig(HandlerFunc(echoPath)))
	m.feedAll([]byte("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.0\r\n\r\n"), 0)
	rs, _ := parseResponses([]byte(m.output()), nil)
	if len(rs) != 2 || rs[0].headers["connection"] != "keep-alive" || rs[1].headers["connection"] != "close" || !m.isClosed() {
		t.Fatalf("got %q", m.output())
	}
}

func TestHeadHasNoBody(t *testing.T) {
	m := newMemConn(testConfig(HandlerFunc(helloHandler)))
	m.feedAll([]byte("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0)
	rs, note := parseResponses([]byte(m.output()), []string{"HEAD", "GET"})
	if note != "" || len(rs) != 2 || len(rs[0].body) != 0 || rs[0].headers["content-length"] != "13" ||
		string(rs[1].body) != "Hello, World!" {
		t.Fatalf("got %q", m.output())
	}
}

func TestExpectContinue(t *testing.T) {
	m := newMemConn(testConfig(HandlerFunc(echoPath)))
	m.e.feed([]byte("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"))
	if got := m.output(); got != continueResponse {
		t.Fatalf("after head: %q", got)
	}
	m.e.feed([]byte("hel"))
	m.e.feed([]byte("lo"))
	rs, _ := parseResponses([]byte(m.output()), nil)
	if len(rs) != 1 || string(rs[0].body) != "/e:hello" || strings.Count(m.output(), "100 Continue") != 1 {
		t.Fatalf("got %q", m.output())
	}
	// The whole body already there: no 100 Continue.
	m = newMemConn(testConfig(HandlerFunc(echoPath)))
	m.e.feed([]byte("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"))
	if strings.Contains(m.output(), "100 Continue") {
		t.Fatalf("got %q", m.output())
	}
}

func TestResponseFields(t *testing.T) {
	h := func(c *Ctx) {
		c.SetStatus(201)
		c.SetHeader("X-One", "1")
		c.SetHeader("x-one", "2") // replaces
		c.AddHeader("X-Two", "a")
		c.AddHeader("X-Two", "b")
		c.SetHeader("X-Bad", "a\r\nInjected: yes") // ignored
		c.SetHeader("Bad Name", "v")               // ignored
		c.SetHeader("Content-Length", "999")       // managed: ignored
		c.SetHeader("Content-Type", "application/json")
		c.SetBody([]byte(`{"ok":true}`))
	}
	m := newMemConn(testConfig(HandlerFunc(h)))
	m.e.feed([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	out := m.output()
	rs, _ := parseResponses([]byte(out), nil)
	if len(rs) != 1 || rs[0].status != 201 || rs[0].headers["x-one"] != "2" ||
		rs[0].headers["content-type"] != "application/json" || rs[0].headers["content-length"] != "11" ||
		string(rs[0].body) != `{"ok":true}` || strings.Contains(out, "Injected") || strings.Contains(out, "Bad Name") ||
		!strings.Contains(out, "X-Two: a\r\nX-Two: b\r\n") || !strings.Contains(out, "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n") {
		t.Fatalf("got %q", out)
	}
}

func TestRequestAccessors(t *testing.T) {
	var got []string
	h := func(c *Ctx) {
		got = append(got, string(c.Method()), string(c.URI()), string(c.Path()), string(c.QueryString()),
			string(c.QueryArg("b")), string(c.Host()), string(c.Header("x-test")), string(c.Body()),
			string(c.Trailer("t-one")), c.Proto(), c.RemoteAddr().String(), fmt.Sprint(c.ContentLength()))
		n := 0
		c.VisitHeaders(func(name, value []byte) { n++ })
		c.VisitTrailers(func(name, value []byte) { n++ })
		got = append(got, fmt.Sprint(n))
	}
	m := newMemConn(testConfig(HandlerFunc(h)))
	m.feedAll([]byte("PATCH /x/y?a=1&b=two HTTP/1.1\r\nHost: h.example\r\nX-Test:  yes \r\n"+
		"Transfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT-One: tv\r\n\r\n"), 2)
	want := []string{"PATCH", "/x/y?a=1&b=two", "/x/y", "a=1&b=two", "two", "h.example", "yes", "abcde",
		"tv", "HTTP/1.1", memRemote.String(), "-1", "4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestFlushStreamsChunked(t *testing.T) {
	h := func(c *Ctx) {
		c.WriteString("part1")
		c.Flush()
		c.WriteString("part2")
	}
	m := newMemConn(testConfig(HandlerFunc(h)))
	m.e.feed([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.0\r\n\r\n"))
	rs, note := parseResponses([]byte(m.output()), nil)
	if note != "" || len(rs) != 2 || rs[0].headers["transfer-encoding"] != "chunked" || string(rs[0].body) != "part1part2" ||
		rs[1].headers["connection"] != "close" || string(rs[1].body) != "part1part2" || !m.isClosed() {
		t.Fatalf("got %q (%s)", m.output(), note)
	}
}

func TestFastHandlerPanic(t *testing.T) {
	h := func(c *Ctx) {
		c.WriteString("partial")
		if string(c.Path()) == "/panic" {
			panic("boom")
		}
	}
	m := newMemConn(quietConfig(HandlerFunc(h)))
	m.e.feed([]byte("GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGET /panic HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n"))
	rs, _ := parseResponses([]byte(m.output()), nil)
	if len(rs) != 2 || rs[0].status != 200 || rs[1].status != 500 || rs[1].headers["connection"] != "close" || !m.isClosed() {
		t.Fatalf("got %q", m.output())
	}
	// Another connection of the same server is unaffected.
	m2 := newMemConn(quietConfig(HandlerFunc(h)))
	m2.e.feed([]byte("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"))
	if rs, _ := parseResponses([]byte(m2.output()), nil); len(rs) != 1 || rs[0].status != 200 {
		t.Fatalf("got %q", m2.output())
	}
}

func TestNoBodyStatuses(t *testing.T) {
	h := func(c *Ctx) {
		c.SetStatus(204)
		if _, err := c.WriteString("x"); err != ErrBodyNotAllowed {
			panic("write allowed on 204")
		}
	}
	m := newMemConn(testConfig(HandlerFunc(h)))
	m.e.feed([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	if out := m.output(); !strings.HasPrefix(out, "HTTP/1.1 204 No Content\r\n") || strings.Contains(out, "Content-Length") {
		t.Fatalf("got %q", out)
	}
}

// TestDrainClosesAfterCurrent: once Shutdown set draining, a request in
// progress still gets its response, which says Connection: close, and the
// connection closes after it. (Idle connections are closed by the reactor's
// Shutdown: TestGracefulShutdown, TestSoakGracefulShutdown.)
func TestDrainClosesAfterCurrent(t *testing.T) {
	cfg := testConfig(HandlerFunc(echoPath))
	m := newMemConn(cfg)
	m.e.feed([]byte("GET /a HTTP/1.1\r\nHost: a\r\n"))
	cfg.draining.Store(true)
	if m.isClosed() {
		t.Fatal("connection with a request in progress closed")
	}
	m.e.feed([]byte("\r\n"))
	rs, _ := parseResponses([]byte(m.output()), nil)
	if len(rs) != 1 || rs[0].status != 200 || rs[0].headers["connection"] != "close" || !m.isClosed() {
		t.Fatalf("got %q", m.output())
	}
}

func TestDateCachePerSecond(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := newLoopCache(base)
	if string(d.line[:]) != "Date: Fri, 02 Jan 2026 03:04:05 GMT\r\n" {
		t.Fatalf("%q", d.line)
	}
	d.update(base.Add(999 * time.Millisecond))
	if string(d.line[:]) != "Date: Fri, 02 Jan 2026 03:04:05 GMT\r\n" {
		t.Fatalf("%q", d.line)
	}
	d.update(base.Add(time.Second).In(time.FixedZone("X", 3600)))
	if string(d.line[:]) != "Date: Fri, 02 Jan 2026 03:04:06 GMT\r\n" {
		t.Fatalf("%q", d.line)
	}
	// A clock a little behind (the loop's cached one, after a task's time.Now) does not
	// step the Date back (review 21); a real step back of the clock does.
	d.update(base.Add(999 * time.Millisecond))
	if string(d.line[:]) != "Date: Fri, 02 Jan 2026 03:04:06 GMT\r\n" {
		t.Fatalf("stepped back: %q", d.line)
	}
	d.update(base.Add(-time.Hour))
	if string(d.line[:]) != "Date: Fri, 02 Jan 2026 02:04:05 GMT\r\n" {
		t.Fatalf("clock step: %q", d.line)
	}
}

// TestLargeBodyAcrossReads checks a body larger than one read, arriving in pieces, and that
// the carry buffer is released afterwards.
func TestLargeBodyAcrossReads(t *testing.T) {
	var n int
	h := func(c *Ctx) { n = len(c.Body()); c.WriteString("ok") }
	m := newMemConn(testConfig(HandlerFunc(h)))
	body := bytes.Repeat([]byte("z"), 300<<10)
	req := append([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 307200\r\n\r\n"), body...)
	m.feedAll(req, 16<<10)
	if n != len(body) || m.isClosed() {
		t.Fatalf("body %d closed %v", n, m.isClosed())
	}
	if cap(m.e.carry) > 64<<10 {
		t.Fatalf("carry of %d bytes kept on an idle connection", cap(m.e.carry))
	}
}

// SetContentType checks every value that differs in content from the type of the loop's cached
// response head (a copy of a value accepted before: a handler's value may live in memory that
// is reused, such as a request's bytes), and keeps the valid value it had when one is refused.
func TestSetContentTypeRechecksReusedMemory(t *testing.T) {
	cfg := testConfig(HandlerFunc(func(c *Ctx) {
		c.SetContentType("text/plain")
		c.SetContentType(string(c.Body())) // a copy here; the bytes are what matter
		c.WriteString("x")
	}))
	m := newMemConn(cfg)
	m.feedAll([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\ntext/html"+
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\ntext/\r\nX:"+
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\ntext/html"), 0)
	out := m.output()
	if strings.Contains(out, "\r\nX:") || strings.Count(out, "Content-Type: text/html\r\n") != 2 ||
		strings.Count(out, "Content-Type: text/plain\r\n") != 1 {
		t.Fatalf("responses:\n%s", out)
	}
}
