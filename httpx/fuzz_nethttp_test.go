package httpx

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

var teList = regexp.MustCompile(`(?i)(\nTransfer-Encoding:)[ \t,]*chunked[ \t,]*\r\n`)

// stdReq is one request net/http's ReadRequest accepts from a byte stream.
type stdReq struct {
	method, uri string
	bodyLen     int
	close       bool
}

// stdRequests parses in as net/http's server would read it: requests in sequence (a few empty
// lines skipped before each, as RFC 9112 2.2 allows), each with its whole body.
func stdRequests(in []byte) []stdReq {
	// RFC 9110 5.6.1: empty list elements are allowed; net/http takes only "chunked".
	in = teList.ReplaceAll(in, []byte("${1} chunked\r\n"))
	br := bufio.NewReader(bytes.NewReader(in))
	var out []stdReq
	for {
		for i := 0; i < maxBlankLines; i++ {
			if b, err := br.Peek(2); err != nil || string(b) != "\r\n" {
				break
			}
			br.Discard(2)
		}
		if _, err := br.Peek(1); err != nil {
			return out
		}
		r, err := http.ReadRequest(br)
		if err != nil {
			return out
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return out
		}
		out = append(out, stdReq{r.Method, r.RequestURI, len(body), r.Close})
	}
}

// FuzzServerNetHTTP: for any byte stream followed by the peer's EOF, the fast-path server's
// output, read with net/http's ReadResponse, is a sequence of well-formed responses, one per
// request net/http's ReadRequest accepts from the same stream, in order (the same method and
// body length), possibly ended early by one error response (4xx/5xx, Connection: close) or by a
// response announcing the close; after the output the connection is closed. A request net/http
// reads whole is never dropped silently.
func FuzzServerNetHTTP(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Add([]byte("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"), uint8(3))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nb"), uint8(5))
	cfg := testConfig(HandlerFunc(fuzzEcho))
	cfg.lim = limits{requestLine: 256, headerBytes: 1024, headerCount: 16, body: 1 << 16}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) { checkNetHTTP(t, cfg, in, step) })
}

func checkNetHTTP(t *testing.T, cfg *config, in []byte, step uint8) {
	t.Helper()
	{
		m := newMemConn(cfg)
		m.feedAll(in, int(step%16))
		if !m.isClosed() {
			m.e.readEOF()
		}
		if !m.isClosed() {
			t.Fatalf("%q: connection open after EOF", in)
		}
		checkOutput(t, in, m.output(), true)
	}
}

// checkOutput checks the server's output for the input stream in (see FuzzServerNetHTTP).
func checkOutput(t *testing.T, in []byte, out string, fast bool) {
	t.Helper()
	{
		want := stdRequests(in)
		br := bufio.NewReader(bytes.NewReader([]byte(out)))
		served := 0
		ended := false
		for {
			if _, err := br.Peek(1); err == io.EOF {
				break
			}
			if ended {
				t.Fatalf("%q: output after the last response: %q", in, out)
			}
			method := "GET"
			if served < len(want) {
				method = want[served].method
			}
			if b, _ := br.Peek(12); len(b) == 12 && b[9] >= '4' {
				method = "GET" // an error answers no request: its body is sent (as net/http does)
			}
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("%q: response %d unreadable: %v\n%q", in, served+1, err, out)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("%q: response %d body: %v\n%q", in, served+1, err, out)
			}
			switch {
			case resp.StatusCode == 100:
				continue
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				if served >= len(want) {
					t.Fatalf("%q: response %d but net/http reads only %d requests\n%q", in, served+1, len(want), out)
				}
				w := want[served]
				if !fast && w.method == "OPTIONS" && w.uri == "*" {
					if len(body) != 0 { // FromHTTP answers it itself, as net/http does
						t.Fatalf("%q: response %d to OPTIONS * %q\n%q", in, served+1, body, out)
					}
				} else if method != "HEAD" {
					f := bytes.Fields(body)
					if len(f) != 3 || string(f[0]) != w.method || string(f[2]) != strconv.Itoa(w.bodyLen) {
						t.Fatalf("%q: response %d %q, net/http reads %+v\n%q", in, served+1, body, w, out)
					}
				}
				served++
				if resp.Close {
					ended = true
				}
			case resp.StatusCode >= 400:
				if !resp.Close {
					t.Fatalf("%q: error without close\n%q", in, out)
				}
				ended = true
			default:
				t.Fatalf("%q: status %d\n%q", in, resp.StatusCode, out)
			}
		}
		if !ended && served < len(want) {
			t.Fatalf("%q: %d responses, no error, but net/http reads %d requests %+v\n%q", in, served, len(want), want, out)
		}
	}
}
