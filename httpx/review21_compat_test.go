package httpx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// "OPTIONS *" reached the FromHTTP handler, where net/http's Server answers it itself (an
// http.ServeMux answers it 400 and closes): a mux served by ringo refused what the same mux
// served by net/http accepts. Now the Adapter answers as net/http does, unless told not to.
func TestReview21OptionsAsterisk(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "root "+r.RequestURI) })
	// exchange sends req then a GET on one connection and describes both answers: status,
	// Content-Length, Connection and body of each, or where the connection ended.
	exchange := func(t *testing.T, addr, req string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, req+"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		br := bufio.NewReader(c)
		var out []string
		for i := 0; i < 2; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				out = append(out, "end")
				break
			}
			out = append(out, fmt.Sprintf("%d cl=%q conn=%q %q", resp.StatusCode,
				resp.Header.Get("Content-Length"), resp.Header.Get("Connection"), bodyString(resp)))
			if resp.Close {
				break
			}
		}
		return strings.Join(out, " | ")
	}
	reqs := []string{
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("b", 5000),
		"OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	defer hs.Close()
	want := make([]string, len(reqs))
	for i, req := range reqs {
		want[i] = exchange(t, ln.Addr().String(), req)
	}
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, mux)
		for i, req := range reqs {
			if got := exchange(t, addr, req); got != want[i] {
				t.Errorf("%q:\nringo    %s\nnet/http %s", req[:20], got, want[i])
			}
		}
		// Handed to the handler when asked: the mux's own answer (400, close).
		_, addr = adapterServer(t, b, mux, WithGeneralOptionsHandler(false))
		if got := exchange(t, addr, reqs[0]); !strings.HasPrefix(got, "400 ") {
			t.Errorf("WithGeneralOptionsHandler(false): %s", got)
		}
	})
}

// A chunked request whose Trailer field names Content-Length, Transfer-Encoding or Trailer got
// to the FromHTTP handler (with the name in Request.Trailer); net/http's server refuses it
// with 400 ("bad trailer key").
func TestReview21BadTrailerKey(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "trailer %v", r.Trailer)
	})
	status := func(t *testing.T, addr, req string) int {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	defer hs.Close()
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		for _, name := range []string{"Content-Length", "transfer-encoding", "X-Sum, Trailer", "X-Sum"} {
			req := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: " + name +
				"\r\n\r\n1\r\na\r\n0\r\n\r\n"
			if got, want := status(t, addr, req), status(t, ln.Addr().String(), req); got != want {
				t.Errorf("Trailer: %s: ringo %d, net/http %d", name, got, want)
			}
		}
	})
}

// After Close, a hijacked conn's SetDeadline, SetReadDeadline, SetWriteDeadline and Write(nil)
// returned nil (and a deadline armed a timer for the closed conn); net.TCPConn's fail with an
// error that is net.ErrClosed.
func TestReview21HijackCallsAfterClose(t *testing.T) {
	calls := func(c net.Conn) string {
		c.Close()
		var out []string
		for _, err := range []error{
			c.SetDeadline(time.Now().Add(time.Hour)),
			c.SetReadDeadline(time.Now().Add(time.Hour)),
			c.SetWriteDeadline(time.Now().Add(time.Hour)),
			func() error { _, err := c.Write(nil); return err }(),
		} {
			out = append(out, fmt.Sprint(errors.Is(err, net.ErrClosed)))
		}
		return strings.Join(out, " ")
	}
	got := make(chan string, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			got <- err.Error()
			return
		}
		got <- calls(c)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	defer hs.Close()
	run := func(t *testing.T, addr string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		select {
		case s := <-got:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("handler did not run")
			return ""
		}
	}
	want := run(t, ln.Addr().String())
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		if s := run(t, addr); s != want {
			t.Fatalf("errors.Is(err, net.ErrClosed) after Close: ringo %s, net/http %s", s, want)
		}
	})
}
