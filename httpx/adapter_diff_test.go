package httpx

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Tables the script of FuzzAdapterResponse picks from.
var (
	diffKeys = []string{"Content-Type", "X-A", "Cache-Control", "Date", "Connection", "X-B", "Content-Language",
		"Vary", "Content-Length", "Transfer-Encoding", "Trailer", "X-T", "Trailer:X-T", "x-lower"}
	diffValues = []string{"text/plain", "v1", "a, b", "Mon, 02 Jan 2006 15:04:05 GMT", "close", "keep-alive", "",
		"x y", "5", "0", "chunked", "X-T", "bad\r\nX-Injected: 1", " padded "}
	diffCodes  = []int{200, 201, 204, 304, 404, 500, 299, 418, 103}
	diffBodies = []string{"", "hello", "<html><body>x</body></html>", strings.Repeat("x", 3000), "\x00\x01binary", "%PDF-1.4"}
)

// scriptHandler runs the handler actions encoded in the request's query (hex): pairs of an op
// and its argument.
func scriptHandler(w http.ResponseWriter, r *http.Request) {
	script, _ := hex.DecodeString(r.URL.RawQuery)
	for i := 0; i+1 < len(script); i += 2 {
		a := int(script[i+1])
		switch script[i] % 7 {
		case 0:
			w.Header().Set(diffKeys[a%len(diffKeys)], diffValues[a/len(diffKeys)%len(diffValues)])
		case 1:
			w.Header().Add(diffKeys[a%len(diffKeys)], diffValues[a/len(diffKeys)%len(diffValues)])
		case 2:
			w.Header().Del(diffKeys[a%len(diffKeys)])
		case 3:
			w.WriteHeader(diffCodes[a%len(diffCodes)])
		case 4:
			io.WriteString(w, diffBodies[a%len(diffBodies)])
		case 5:
			w.(http.Flusher).Flush()
		case 6: // a key as given, not canonicalized
			w.Header()[diffKeys[a%len(diffKeys)]] = []string{diffValues[a/len(diffKeys)%len(diffValues)]}
		}
	}
}

// diffResponse is what FuzzAdapterResponse compares: the status, the fields other than framing
// and Date (unless the handler set Date), and the body.
type diffResponse struct {
	status       int
	header       http.Header
	body         string
	trailer      http.Header
	lengthFramed bool // by Content-Length (no trailers possible)
	close        bool // the response announced the connection's close (Connection: close)
}

// fetchDiff runs the script on the server at addr and reads the response; an error is a
// response net/http's client cannot read. With keepAlive, the request is sent twice on one
// connection (pipelined, the first asking to keep the connection), and the second response is
// read too, if the server did not close the connection after the first: the result has one or
// two responses.
func fetchDiff(t *testing.T, addr, method, proto, script string, keepAlive bool) ([]diffResponse, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := fmt.Sprintf("%s /s?%s %s\r\nHost: h\r\nConnection: %%s\r\n\r\n", method, script, proto)
	n := 1
	if keepAlive {
		fmt.Fprintf(c, req, "keep-alive")
		n = 2
	}
	fmt.Fprintf(c, req, "close")
	br := bufio.NewReader(c)
	var out []diffResponse
	for i := range n {
		if i > 0 {
			if _, err := br.Peek(1); err == io.EOF {
				break // closed after the first response
			}
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		h := maps.Clone(resp.Header)
		for _, k := range []string{"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive"} {
			delete(h, k)
		}
		if !strings.Contains(h.Get("Date"), "2006") {
			delete(h, "Date") // the server's own clock
		}
		out = append(out, diffResponse{resp.StatusCode, h, string(body), resp.Trailer,
			resp.ContentLength >= 0 && len(resp.TransferEncoding) == 0, resp.Close})
	}
	return out, nil
}

// FuzzAdapterResponse runs a script of ResponseWriter calls (header changes, WriteHeader,
// Write, Flush) both under net/http's server and under FromHTTP, for GET and HEAD over HTTP/1.1
// and 1.0, one request per connection or two pipelined, and requires the same status, fields
// (framing and the server's Date aside) and body, and the connection kept open after the first
// of two requests exactly when net/http keeps it.
func FuzzAdapterResponse(f *testing.F) {
	for _, s := range [][]byte{
		{4, 1},                   // Write("hello")
		{0, 0, 4, 1},             // Content-Type set, Write
		{3, 2, 4, 1},             // 204 then a body
		{3, 3, 4, 3},             // 304 then a body
		{4, 3, 5, 0, 4, 1},       // large write, flush, more
		{3, 0, 0, 1, 4, 1},       // a field set after WriteHeader
		{0, 4, 4, 1},             // Connection: close
		{1, 1, 1, 9, 0, 3, 4, 4}, // repeated fields, Date, binary body
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(3))
		f.Add(s, uint8(4))
		f.Add(s, uint8(6))
	}
	std := &http.Server{Handler: http.HandlerFunc(scriptHandler), ErrorLog: log.New(io.Discard, "", 0)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go std.Serve(ln)
	f.Cleanup(func() { std.Close() })
	s := &Server{Handler: FromHTTP(http.HandlerFunc(scriptHandler))}
	ours := startServer(f, reactor.BackendAuto, s)
	f.Fuzz(func(t *testing.T, script []byte, mode uint8) {
		if len(script) > 64 {
			return
		}
		method, proto := "GET", "HTTP/1.1"
		if mode&1 != 0 {
			method = "HEAD"
		}
		if mode&2 != 0 {
			proto = "HTTP/1.0"
		}
		keepAlive := mode&4 != 0
		q := hex.EncodeToString(script)
		want, err := fetchDiff(t, ln.Addr().String(), method, proto, q, keepAlive)
		if err != nil {
			return // net/http wrote what its own client cannot read (a handler's Transfer-Encoding)
		}
		if proto == "HTTP/1.0" && want[0].status < 200 {
			return // net/http sends a 1xx to an HTTP/1.0 client, which RFC 9110 15.2 forbids
		}
		got, err := fetchDiff(t, ours, method, proto, q, keepAlive)
		if err != nil {
			t.Fatalf("%s %s script %v: FromHTTP's response: %v", method, proto, script, err)
		}
		if len(got) == 2 && len(want) == 1 && proto == "HTTP/1.0" && len(want[0].body) > 2048 {
			// A body beyond net/http's 2 KiB buffer ends an HTTP/1.0 connection there; FromHTTP
			// buffers more, sends the length and keeps the connection.
			got = got[:1]
		}
		if len(got) == 1 && len(want) == 2 && want[0].close {
			// net/http announced the close (the handler's Connection field held "close", but
			// not as its first value) and kept the connection: it decides on the first value
			// only, and RFC 9112 9.6 requires the close. FromHTTP closes.
			want = want[:1]
		}
		if len(got) != len(want) {
			t.Fatalf("%s %s script %v: %d responses to two requests, net/http %d", method, proto, script, len(got), len(want))
		}
		same := func(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }
		for i := range want {
			g, w := got[i], want[i]
			// Trailers set by http.TrailerPrefix after the header was written reach the client
			// from FromHTTP always, from net/http only if its 2 KiB buffer made the body chunked.
			trailersOK := maps.EqualFunc(g.trailer, w.trailer, same) || w.lengthFramed && len(w.trailer) == 0
			if g.status != w.status || !maps.EqualFunc(g.header, w.header, same) || g.body != w.body || !trailersOK {
				t.Fatalf("%s %s script %v, response %d:\n net/http %d %v %q trailer %v\n FromHTTP %d %v %q trailer %v",
					method, proto, script, i+1, w.status, w.header, trunc(w.body), w.trailer,
					g.status, g.header, trunc(g.body), g.trailer)
			}
		}
	})
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
