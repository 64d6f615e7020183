package httpx

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// bothServers runs check against net/http's server and FromHTTP on each backend.
func bothServers(t *testing.T, h http.Handler, check func(t *testing.T, addr string), opts ...AdapterOption) {
	t.Run("net/http", func(t *testing.T) {
		ts := httptest.NewUnstartedServer(h)
		ts.Config.ErrorLog = log.New(io.Discard, "", 0)
		ts.Start()
		defer ts.Close()
		check(t, ts.Listener.Addr().String())
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h, opts...)
		check(t, addr)
	})
}

func rdial(t *testing.T, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// R16a: Expect: 100-continue; the handler reads (100 goes out), flushes its response and returns
// before the body ended. net/http announces "Connection: close" (the body of a 100-continue
// request was not read to its end when the header went out) and closes; FromHTTP sent a
// keep-alive response, then closed: the client's next request on it is lost.
func TestFromHTTPHoldExpectFlushedKeepAlive(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			b := make([]byte, 1)
			io.ReadFull(r.Body, b)
		}
		io.WriteString(w, "ok")
		w.(http.Flusher).Flush()
	})
	bothServers(t, h, func(t *testing.T, addr string) {
		c := rdial(t, addr)
		br := bufio.NewReader(c)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 100 {
			t.Fatalf("want 100: %v %v", resp, err)
		}
		io.WriteString(c, "0")
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		t.Logf("first %q close=%v", b, resp.Close)
		time.Sleep(100 * time.Millisecond)
		io.WriteString(c, "123456789GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		resp2, err := http.ReadResponse(br, nil)
		if err != nil && !resp.Close {
			t.Fatalf("second request on a connection kept by the response: %v", err)
		}
		if err == nil {
			io.ReadAll(resp2.Body)
		}
	})
}

// R16b: a held response released by statusHeldTooLong: the connection closes after it, so it
// should say so (net/http: Connection: close).
func TestFromHTTPHoldHeldTooLongAnnouncesClose(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "denied", http.StatusUnauthorized)
	})
	bothServers(t, h, func(t *testing.T, addr string) {
		c := rdial(t, addr)
		io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 16<<10, strings.Repeat("u", 16<<10))
		got := make(chan *http.Response, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				got <- nil
				return
			}
			got <- resp
		}()
		for i := 0; i < 64; i++ {
			if _, err := io.WriteString(c, chunk); err != nil {
				break
			}
		}
		select {
		case r := <-got:
			if r == nil {
				t.Fatal("no response")
			}
			if !r.Close {
				t.Fatalf("response %s before the close does not announce it: %v", r.Status, r.Header)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no response")
		}
	})
}

// R16c: flushed response, handler returned; the rest of the chunked body and a pipelined request
// in one write: both answered in order.
func TestFromHTTPHoldHeldSentPipelined(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "resp:"+r.URL.Path)
		w.(http.Flusher).Flush()
	})
	forEachBackend(t, func(t *testing.T, be reactor.Backend) {
		_, addr := adapterServer(t, be, h)
		c := rdial(t, addr)
		br := bufio.NewReader(c)
		io.WriteString(c, "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "resp:/a" {
			t.Fatalf("%q", b)
		}
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "3\r\ndef\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nPOST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET /d HTTP/1.1\r\nHost: h\r\n\r\n")
		for _, p := range []string{"/b", "/c", "/d"} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "resp:"+p {
				t.Fatalf("want %s got %q", p, b)
			}
		}
	})
}

// R16d: malformed chunk after a flushed response whose handler returned: one response, then close.
func TestFromHTTPHoldHeldSentMalformed(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "resp:"+r.URL.Path)
		w.(http.Flusher).Flush()
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		c := rdial(t, addr)
		br := bufio.NewReader(c)
		io.WriteString(c, "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "zz\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
		rest, _ := io.ReadAll(br)
		if len(rest) != 0 {
			t.Fatalf("after the malformed body: %q", rest)
		}
	})
}

// R16f: Shutdown while a finished handler's response is held for its body: the Server's doc
// says the responses of requests in progress carry "Connection: close"; the held response goes
// out after Shutdown began and the connection closes after it.
func TestFromHTTPHoldShutdownWhileHeldAnnouncesClose(t *testing.T) {
	returned := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "answer")
		returned <- struct{}{}
	})
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0\r\nConnection: keep-alive"} {
		forEachBackend(t, func(t *testing.T, b reactor.Backend) {
			s, addr := adapterServer(t, b, h)
			c := rdial(t, addr)
			br := bufio.NewReader(c)
			io.WriteString(c, "POST /a "+proto+"\r\nHost: h\r\nContent-Length: 10\r\n\r\n12345")
			<-returned
			time.Sleep(50 * time.Millisecond) // the final delivery reached the loop: held
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				done <- s.Shutdown(ctx)
			}()
			time.Sleep(100 * time.Millisecond)
			io.WriteString(c, "67890")
			var raw strings.Builder
			resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(br, &raw)), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if err := <-done; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			_, err = c.Read(make([]byte, 1))
			if !resp.Close {
				t.Fatalf("response %q during Shutdown without Connection: close (then: %v)", body, err)
			}
			if n := strings.Count(raw.String(), "\r\nConnection: "); n != 1 {
				t.Fatalf("%d Connection fields: %q", n, raw.String())
			}
		})
	}
}
