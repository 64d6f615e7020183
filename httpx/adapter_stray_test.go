package httpx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"github.com/ringo-io/ringo/reactor/reactortest"
)

func strayServer(t *testing.T, b reactor.Backend, h http.Handler, opts ...AdapterOption) string {
	s := &Server{Handler: FromHTTP(h, opts...), Logger: quietLogger()}
	s.Reactor = []reactor.Option{reactor.WithBackend(b), reactor.WithLoops(1)}
	if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Skip(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

// A base context that is already cancelled: reqCtx.init races with the AfterFunc goroutine.
func TestAdapterCancelledBaseContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}), WithBaseContext(func() context.Context { return ctx }))
		for i := 0; i < 20; i++ {
			c := dial(t, addr)
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			readResponses(t, bufio.NewReader(c), 1)
			c.Close()
		}
	})
}

// A goroutine started by a handler uses the ResponseWriter after the handler returned: the
// bytes must not reach another connection.
func TestAdapterStrayWriteOtherConn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		stray := make(chan http.ResponseWriter, 1)
		startedB := make(chan struct{})
		releaseB := make(chan struct{})
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/a":
				stray <- w
				io.WriteString(w, "a")
			case "/b":
				close(startedB)
				<-releaseB
				io.WriteString(w, "b")
			}
		}))
		ca := dial(t, addr)
		io.WriteString(ca, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		readResponses(t, bufio.NewReader(ca), 1)
		w := <-stray
		time.Sleep(50 * time.Millisecond) // A's connection is idle, its engine back on the loop
		cb := dial(t, addr)
		io.WriteString(cb, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
		<-startedB
		done := make(chan struct{})
		go func() { // the handler's stray goroutine
			defer close(done)
			w.Write(bytes.Repeat([]byte("X"), 5000))
			http.NewResponseController(w).Flush()
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		close(releaseB)
		br := bufio.NewReader(cb)
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("connection B got %q (bytes of connection A's stray writer)", line[:min(len(line), 40)])
		}
	})
}

// ResponseController calls after the handler returned, the connection idle: no crash.
func TestAdapterControllerAfterReturn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		stray := make(chan http.ResponseWriter, 1)
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stray <- w
			io.WriteString(w, "a")
		}))
		ca := dial(t, addr)
		io.WriteString(ca, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		readResponses(t, bufio.NewReader(ca), 1)
		w := <-stray
		time.Sleep(50 * time.Millisecond)
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(time.Second))
		_ = rc.Flush()
	})
}

func TestAdapterAbortAfterChunks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write(bytes.Repeat([]byte("a"), 10000))
			w.(http.Flusher).Flush()
			w.Write([]byte("tail"))
			panic(http.ErrAbortHandler)
		}))
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatalf("aborted body read completely (%d bytes)", len(body))
		}
	})
}

// The client resets while the handler is blocked flushing to it.
func TestAdapterResetWhileBlockedInWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		res := make(chan error, 1)
		started := make(chan struct{})
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := bytes.Repeat([]byte("z"), 64<<10)
			once := false
			for {
				if _, err := w.Write(buf); err != nil {
					select {
					case <-r.Context().Done():
						res <- nil
					case <-time.After(2 * time.Second):
						res <- err
					}
					return
				}
				if !once {
					once = true
					close(started)
				}
			}
		}))
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		<-started
		time.Sleep(200 * time.Millisecond)
		c.(interface{ SetLinger(int) error }).SetLinger(0)
		c.Close()
		select {
		case err := <-res:
			if err != nil {
				t.Fatalf("write failed (%v) but context not cancelled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("handler still blocked in Write 5s after the client reset")
		}
	})
}

// Hijacked conn used from several goroutines at once: writers, a reader, deadlines, Close.
func TestAdapterHijackMultiGoroutine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		handlerDone := make(chan struct{}, 64)
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			go func() {
				defer func() { handlerDone <- struct{}{} }()
				var wg sync.WaitGroup
				for i := 0; i < 3; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						msg := bytes.Repeat([]byte{byte('a' + i)}, 70000)
						for {
							if _, err := conn.Write(msg); err != nil {
								return
							}
						}
					}(i)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 1000)
					for {
						conn.SetReadDeadline(time.Now().Add(time.Millisecond))
						if _, err := conn.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
							return
						}
					}
				}()
				time.Sleep(30 * time.Millisecond)
				go conn.(interface{ CloseWrite() error }).CloseWrite()
				conn.SetWriteDeadline(time.Now().Add(5 * time.Millisecond))
				conn.Close()
				wg.Wait()
			}()
		}))
		const n = 8
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				go func() {
					for {
						if _, err := c.Write([]byte("ping")); err != nil {
							return
						}
						time.Sleep(time.Millisecond)
					}
				}()
				io.Copy(io.Discard, c)
			}()
		}
		wg.Wait()
		for i := 0; i < n; i++ {
			select {
			case <-handlerDone:
			case <-time.After(10 * time.Second):
				t.Fatal("hijacked goroutines did not finish")
			}
		}
	})
}

// panic(http.ErrAbortHandler) must abort the connection at once, also while the request body
// is still arriving.
func TestAdapterAbortWithPendingBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		}))
		for _, hdr := range []string{"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "Content-Length: 1000\r\n\r\nhello"} {
			c := dial(t, addr)
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\n"+hdr)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 100)
			n, err := c.Read(buf)
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("%q: connection still open 2s after the handler aborted (read %q, %v)", hdr[:20], buf[:n], err)
			}
			c.Close()
		}
	})
}

// A header map kept by a goroutine of a returned handler is another connection's map.
func TestAdapterStrayHeaderMap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		strayDone := make(chan struct{})
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/a" {
				h := w.Header()
				go func() { // e.g. a logger that looks at the response fields later
					<-r.Context().Done() // the request is over
					h.Set("X-Stray", "from connection A")
					close(strayDone)
				}()
			}
			io.WriteString(w, "x")
		}))
		ca := dial(t, addr)
		io.WriteString(ca, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		readResponses(t, bufio.NewReader(ca), 1)
		<-strayDone
		cb := dial(t, addr)
		io.WriteString(cb, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
		rs := readResponses(t, bufio.NewReader(cb), 1)
		if v := rs[0].Header.Get("X-Stray"); v != "" {
			t.Fatalf("connection B's response has X-Stray: %q", v)
		}
	})
}

// A client that stops reading a streamed response: the handler's Writes must stay blocked
// (memory bounded), not go on queueing once a minute.
// (Before the fix the loop gave up after 60,000 polls and acknowledged the flush anyway.)
func TestSoakAdapterStalledReaderMemory(t *testing.T) {
	if !reactortest.Full() {
		t.Skip("takes 75 s (the old give-up came after about 60 s): runs in make soak (RINGO_SOAK=1)")
	}
	var writes atomic.Int64
	addr := strayServer(t, reactor.BackendEpoll, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := bytes.Repeat([]byte("m"), 1<<20)
		for r.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				return
			}
			writes.Add(1)
		}
	}))
	c := dial(t, addr)
	c.(*net.TCPConn).SetReadBuffer(64 << 10)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(5 * time.Second)
	n0 := writes.Load()
	time.Sleep(70 * time.Second)
	n1 := writes.Load()
	t.Logf("writes after 5s: %d, after 75s: %d", n0, n1)
	if n1 > n0 {
		t.Fatalf("the handler queued %d MiB more for a client that reads nothing", n1-n0)
	}
}

func TestAdapterQueueDisconnects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := strayServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/block" {
				<-r.Context().Done()
				return
			}
			io.WriteString(w, "ok")
		}), WithMaxHandlers(1))
		for round := 0; round < 3; round++ {
			c1 := dial(t, addr)
			io.WriteString(c1, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(50 * time.Millisecond)
			c2 := dial(t, addr)
			io.WriteString(c2, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(50 * time.Millisecond)
			c3 := dial(t, addr)
			io.WriteString(c3, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			rs := readResponses(t, bufio.NewReader(c3), 1)
			if rs[0].StatusCode != 503 {
				t.Fatalf("third request: %d", rs[0].StatusCode)
			}
			c2.Close()
			c1.Close()
			time.Sleep(50 * time.Millisecond)
			c4 := dial(t, addr)
			c4.SetDeadline(time.Now().Add(3 * time.Second))
			io.WriteString(c4, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			rs = readResponses(t, bufio.NewReader(c4), 1)
			if rs[0].StatusCode != 200 {
				t.Fatalf("round %d: after the disconnects: %d", round, rs[0].StatusCode)
			}
			c4.Close()
		}
	})
}
