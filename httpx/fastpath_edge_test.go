package httpx

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Found by a review helper (session 12); each failed before its fix.

// A chunk-size line of exactly maxChunkLine bytes is accepted when its CRLF arrives in one
// read, but rejected with 400 when the read ends between its CR and its LF.
func TestChunkLineAtLimitSplit(t *testing.T) {
	head := "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	line := "1;" + strings.Repeat("e", maxChunkLine-2) // exactly maxChunkLine bytes
	in := head + line + "\r\nz\r\n0\r\n\r\n"
	cut := len(head) + len(line) + 1 // just after the CR of the size line

	whole := newMemConn(testConfig(HandlerFunc(echoPath)))
	whole.feedAll([]byte(in), 0)
	split := newMemConn(testConfig(HandlerFunc(echoPath)))
	split.e.feed([]byte(in[:cut]))
	split.e.feed([]byte(in[cut:]))

	rw, _ := parseResponses([]byte(whole.output()), nil)
	rsp, _ := parseResponses([]byte(split.output()), nil)
	t.Logf("whole: %v closed=%v; split: %v closed=%v", statuses(rw), whole.isClosed(), statuses(rsp), split.isClosed())
	if outcome(whole.output()) != outcome(split.output()) {
		t.Fatalf("split outcome differs:\nwhole %q\nsplit %q", whole.output(), split.output())
	}
}

// The same over a real socket: the client writes the request up to the CR, pauses, then the rest.
func TestChunkLineAtLimitSplitRealSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(echoPath)})
		head := "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		line := "1;" + strings.Repeat("e", maxChunkLine-2)
		in := head + line + "\r\nz\r\n0\r\n\r\n"
		cut := len(head) + len(line) + 1
		get := func(parts ...string) int {
			c := dial(t, addr)
			for _, p := range parts {
				io.WriteString(c, p)
				time.Sleep(100 * time.Millisecond)
			}
			rs := readResponses(t, bufio.NewReader(c), 1)
			return rs[0].StatusCode
		}
		a, s := get(in), get(in[:cut], in[cut:])
		t.Logf("whole %d, split %d", a, s)
		if a != s {
			t.Fatalf("whole request answered %d, the same bytes split after the CR answered %d", a, s)
		}
	})
}

// The 503 sent to connections over MaxConns carries the Date of Listen, not of the refusal.
func TestRefusalDateIsCurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(echoPath), MaxConns: 1}
		addr := startServer(t, b, s)
		c1 := dial(t, addr)
		io.WriteString(c1, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
		readResponses(t, bufio.NewReader(c1), 1)
		time.Sleep(3 * time.Second)
		c2 := dial(t, addr)
		now := time.Now()
		out := expectClosed(t, c2)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(out))), nil)
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		d, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			t.Fatalf("Date %q: %v", resp.Header.Get("Date"), err)
		}
		t.Logf("status %d, Date %s, now %s", resp.StatusCode, resp.Header.Get("Date"), now.UTC().Format(http.TimeFormat))
		if skew := now.Sub(d); skew > 1500*time.Millisecond {
			t.Fatalf("503 Date is %v old", skew.Round(time.Second))
		}
	})
}

// SetHeaderBytes("Connection", "close") is documented as SetHeader with a byte value, and
// SetHeader("Connection", "close") closes the connection; SetHeaderBytes does not.
func TestSetHeaderBytesConnectionClose(t *testing.T) {
	for _, name := range []string{"SetHeader", "SetHeaderBytes"} {
		h := func(c *Ctx) {
			if name == "SetHeader" {
				c.SetHeader("Connection", "close")
			} else {
				c.SetHeaderBytes("Connection", []byte("close"))
			}
			c.WriteString("x")
		}
		m := newMemConn(testConfig(HandlerFunc(h)))
		m.e.feed([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		rs, _ := parseResponses([]byte(m.output()), nil)
		t.Logf("%s: Connection=%q closed=%v", name, rs[0].headers["connection"], m.isClosed())
		if rs[0].headers["connection"] != "close" || !m.isClosed() {
			t.Errorf("%s(\"Connection\", \"close\"): response %q, closed=%v", name, m.output(), m.isClosed())
		}
	}
}

// Chunk extensions let a client send thousands of wire bytes per decoded body byte: the body
// limit never applies to them. net/http rejects such a body ("too much non-data").
func TestChunkExtensionsBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			c.Write([]byte{byte('0' + len(c.Body())%10)})
		}), MaxBodyBytes: 1000})
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := "1;" + strings.Repeat("e", maxChunkLine-2) + "\r\nz\r\n"
		const n = 1000 // 1000 decoded bytes (the limit), about 4 MB on the wire
		go func() {
			for i := 0; i < n; i++ {
				io.WriteString(c, chunk)
			}
			io.WriteString(c, "0\r\n\r\n")
		}()
		rs := readResponses(t, bufio.NewReader(c), 1)
		t.Logf("%d wire bytes for a %d-byte body: status %d", n*len(chunk), n, rs[0].StatusCode)
		if rs[0].StatusCode == 200 {
			t.Fatalf("accepted %d wire bytes of chunk extensions for a %d-byte body (MaxBodyBytes 1000)", n*len(chunk), n)
		}
	})
}

// CONNECT is answered 501 and reaches no handler whatever its target's form (only
// authority-form is valid for it, RFC 9112 3.2.3); a CONNECT with a path reached the handler.
func TestConnectAnyFormRefused(t *testing.T) {
	var called atomic.Int32
	fast := HandlerFunc(func(c *Ctx) { called.Add(1); c.WriteString("handler ran") })
	std := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called.Add(1)
		io.WriteString(w, "handler ran")
	}))
	for _, h := range []Handler{fast, std} {
		forEachBackend(t, func(t *testing.T, b reactor.Backend) {
			addr := startServer(t, b, &Server{Handler: h})
			for _, target := range []string{"/x", "example.com:443", "*", "http://example.com/"} {
				c := dial(t, addr)
				io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: example.com\r\n\r\n")
				rs := readResponses(t, bufio.NewReader(c), 1)
				if rs[0].StatusCode != 501 || called.Load() != 0 {
					t.Fatalf("CONNECT %s: status %d, handler called %d times", target, rs[0].StatusCode, called.Load())
				}
			}
		})
	}
}
