package httpx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// bodyLikeNetHTTP sends req on a fresh connection to net/http's server and to FromHTTP on each
// backend, both serving h, then (after delay, if rest is not empty) rest, and fails unless the
// response bodies are equal.
func bodyLikeNetHTTP(t *testing.T, h http.Handler, req, rest string, delay time.Duration) {
	t.Helper()
	get := func(t *testing.T, addr string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, req)
		if rest != "" {
			go func() {
				time.Sleep(delay)
				io.WriteString(c, rest)
			}()
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return bodyString(resp)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	defer hs.Close()
	want := get(t, ln.Addr().String())
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		if got := get(t, addr); got != want {
			t.Fatalf("ringo: %q, net/http: %q", got, want)
		}
	})
}

// A zero-length Body.Read waited for the client's next body bytes; net/http's returns (0, nil)
// at once, as io.Reader allows.
func TestReview20BodyZeroLengthRead(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan string, 1)
		go func() {
			n, err := r.Body.Read(nil)
			done <- fmt.Sprintf("%d %v", n, err)
		}()
		select {
		case s := <-done:
			io.WriteString(w, s)
		case <-time.After(time.Second):
			io.WriteString(w, "blocked")
			r.Body.Close()
		}
	})
	bodyLikeNetHTTP(t, h, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", "01234", 1500*time.Millisecond)
}

// A Read after Close returned an error with net/http's text but not its value:
// errors.Is(err, http.ErrBodyReadAfterClose) was false.
func TestReview20BodyReadAfterCloseError(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body.Close()
		_, err := r.Body.Read(make([]byte, 10))
		fmt.Fprintf(w, "ErrBodyReadAfterClose %v", errors.Is(err, http.ErrBodyReadAfterClose))
	})
	bodyLikeNetHTTP(t, h, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde", "", 0)
}

// A Read blocked in another goroutine when the handler closes the body returns at once with
// http.ErrBodyReadAfterClose (it waited until the handler returned, then said the client was
// gone), and the response goes out at once with Connection: close, as net/http sends it: it
// was held for the rest of a body nobody would read, and the client, holding the body back,
// never got it.
func TestReview20BodyCloseWakesRead(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan error, 1)
		go func() { _, err := r.Body.Read(make([]byte, 10)); done <- err }()
		time.Sleep(50 * time.Millisecond) // the Read waits: the client holds the body back
		r.Body.Close()
		select {
		case err := <-done:
			fmt.Fprintf(w, "%v", errors.Is(err, http.ErrBodyReadAfterClose))
		case <-time.After(2 * time.Second):
			io.WriteString(w, "blocked")
		}
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := bodyString(resp); got != "true" || !resp.Close {
			t.Fatalf("Read blocked across Close: %q (Connection: close %v)", got, resp.Close)
		}
	})
}
