package httpx

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestAdapterStrayInterim sends a 1xx for a request that has ended while the next pipelined
// request on the connection is in its handler: through the ResponseWriter after the handler
// returned (WriteHeader refuses it), and as the loop task of a WriteHeader that passed its
// checks just before the handler returned (a handler racing with itself; the task is run
// directly). Neither may put the 103 in front of the next response.
func TestAdapterStrayInterim(t *testing.T) {
	interim := []byte("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n")
	for _, tc := range []struct {
		name  string
		stray func(t *testing.T, w *responseWriter)
	}{
		{"after return", func(t *testing.T, w *responseWriter) { w.WriteHeader(http.StatusEarlyHints) }},
		{"late task", func(t *testing.T, w *responseWriter) {
			ar := w.ar
			ack := ar.ackChan()
			ar.t.execute(func() { ar.deliverInterim(interim, http.StatusEarlyHints) })
			select {
			case err := <-ack:
				if err != errHandlerReturned {
					t.Errorf("the stray 1xx was acknowledged with %v, want errHandlerReturned", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("the stray 1xx was never acknowledged")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				first := make(chan *responseWriter, 1)
				started2, release2 := make(chan struct{}), make(chan struct{})
				_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/1" {
						first <- w.(*responseWriter)
						io.WriteString(w, "one")
						return
					}
					close(started2)
					<-release2
					io.WriteString(w, "two")
				}))
				c := dial(t, addr)
				io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
				w := <-first
				<-started2 // request 1 has ended
				tc.stray(t, w)
				close(release2)
				br := bufio.NewReader(c)
				for i, want := range []string{"one", "two"} {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Fatalf("response %d: %v", i, err)
					}
					body, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != 200 || string(body) != want {
						t.Fatalf("response %d: %d %q, want 200 %q (a stray 1xx in the stream?)", i, resp.StatusCode, body, want)
					}
				}
			})
		})
	}
}

// TestAdapterHeaderAfterReturn: a goroutine of a handler that sets a response field after its
// response went out (a middleware that lost a race) must not crash the process; net/http's
// Header keeps returning the map.
func TestAdapterHeaderAfterReturn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		res := make(chan any, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			go func() {
				<-r.Context().Done() // the request is over
				defer func() { res <- recover() }()
				w.Header().Set("X-Late", "1")
			}()
			io.WriteString(w, "x")
		}))
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		readResponses(t, bufio.NewReader(c), 1)
		select {
		case v := <-res:
			if v != nil {
				t.Fatalf("w.Header().Set after the handler returned panicked: %v", v)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the handler's goroutine did not run")
		}
	})
}

// TestAdapterFlush101ThenHijack: a handler that flushes its 101 before it hijacks (as some
// WebSocket libraries do) sends the 101 with its "Connection: Upgrade", as net/http does, not
// "Connection: close", which a WebSocket client must reject (RFC 6455 4.1).
func TestAdapterFlush101ThenHijack(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		w.WriteHeader(http.StatusSwitchingProtocols)
		w.(http.Flusher).Flush()
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		brw.WriteString("hello")
		brw.Flush()
		c.Close()
	})
	const req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
	exchange := func(t *testing.T, addr string) {
		c := dial(t, addr)
		io.WriteString(c, req)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c)
		br := bufio.NewReader(strings.NewReader(string(got)))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		rest, _ := io.ReadAll(br) // a 101 has no body: the rest is the new protocol's
		if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Connection"), "Upgrade") || string(rest) != "hello" {
			t.Fatalf("%q: want a 101 with Connection: Upgrade, then hello", got)
		}
	}
	t.Run("net/http", func(t *testing.T) {
		ref := httptest.NewServer(h)
		defer ref.Close()
		exchange(t, ref.Listener.Addr().String())
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		exchange(t, addr)
	})
}
