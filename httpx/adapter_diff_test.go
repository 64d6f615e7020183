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
}

// fetchDiff runs the script on the server at addr and reads the response; an error is a
// response net/http's client cannot read.
func fetchDiff(t *testing.T, addr, method, proto, script string) (diffResponse, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "%s /s?%s %s\r\nHost: h\r\nConnection: close\r\n\r\n", method, script, proto)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return diffResponse{}, err
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return diffResponse{}, fmt.Errorf("body: %w", err)
	}
	h := maps.Clone(resp.Header)
	for _, k := range []string{"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive"} {
		delete(h, k)
	}
	if !strings.Contains(h.Get("Date"), "2006") {
		delete(h, "Date") // the server's own clock
	}
	return diffResponse{resp.StatusCode, h, string(body), resp.Trailer, resp.ContentLength >= 0 && len(resp.TransferEncoding) == 0}, nil
}

// FuzzAdapterResponse runs a script of ResponseWriter calls (header changes, WriteHeader,
// Write, Flush) both under net/http's server and under FromHTTP, for GET and HEAD over HTTP/1.1
// and 1.0, and requires the same status, fields (framing and the server's Date aside) and body.
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
		q := hex.EncodeToString(script)
		want, err := fetchDiff(t, ln.Addr().String(), method, proto, q)
		if err != nil {
			return // net/http wrote what its own client cannot read (a handler's Transfer-Encoding)
		}
		if proto == "HTTP/1.0" && want.status < 200 {
			return // net/http sends a 1xx to an HTTP/1.0 client, which RFC 9110 15.2 forbids
		}
		got, err := fetchDiff(t, ours, method, proto, q)
		if err != nil {
			t.Fatalf("%s %s script %v: FromHTTP's response: %v", method, proto, script, err)
		}
		same := func(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }
		// Trailers set by http.TrailerPrefix after the header was written reach the client from
		// FromHTTP always, from net/http only if its 2 KiB buffer made the body chunked.
		trailersOK := maps.EqualFunc(got.trailer, want.trailer, same) || want.lengthFramed && len(want.trailer) == 0
		if got.status != want.status || !maps.EqualFunc(got.header, want.header, same) || got.body != want.body ||
			!trailersOK {
			t.Fatalf("%s %s script %v:\n net/http %d %v %q trailer %v\n FromHTTP %d %v %q trailer %v", method, proto, script,
				want.status, want.header, trunc(want.body), want.trailer, got.status, got.header, trunc(got.body), got.trailer)
		}
	})
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
