package httpx

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"github.com/ringo-io/ringo/reactor/reactortest"
)

// Shutdown or Close before Listen: ListenAndServe, Serve and Start must then refuse with
// ErrServerClosed (the doc: "ErrServerClosed is returned by Serve and ListenAndServe after
// Shutdown or Close"), as net/http's do. The usual pattern, ListenAndServe in a goroutine and
// Shutdown on a signal, otherwise loses a Shutdown that comes before the goroutine listened:
// the server then serves for ever.
func TestReview21ShutdownBeforeListen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		for _, how := range []string{"shutdown", "close"} {
			s := &Server{Handler: HandlerFunc(echoPath), Logger: quietLogger(),
				Reactor: []reactor.Option{reactor.WithBackend(b), reactor.WithLoops(1)}}
			var err error
			if how == "shutdown" {
				err = s.Shutdown(context.Background())
			} else {
				err = s.Close()
			}
			if err != nil {
				t.Fatalf("%s before Listen: %v", how, err)
			}
			done := make(chan error, 1)
			go func() { done <- s.ListenAndServe("127.0.0.1:0") }()
			select {
			case err := <-done:
				if !errors.Is(err, ErrServerClosed) {
					if errors.Is(err, reactor.ErrBackendUnavailable) {
						t.Skip(err)
					}
					t.Fatalf("ListenAndServe after %s: %v, want ErrServerClosed", how, err)
				}
			case <-time.After(2 * time.Second):
				s.Close()
				<-done
				t.Fatalf("ListenAndServe after %s serves (still running after 2 s)", how)
			}
		}
		// Listen, Serve, Shutdown, then ListenAndServe again: ErrServerClosed too.
		s := &Server{Handler: HandlerFunc(echoPath), Logger: quietLogger(),
			Reactor: []reactor.Option{reactor.WithBackend(b), reactor.WithLoops(1)}}
		if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Skip(err)
		}
		go s.Serve()
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.ListenAndServe("127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
			t.Fatalf("ListenAndServe after Shutdown: %v, want ErrServerClosed", err)
		}
	})
}

// Shutdown whose ctx expires while a FromHTTP handler is blocked reading a body that never
// comes: Shutdown returns ctx.Err() promptly, the handler's Body read fails, and no goroutine
// or fd of the server remains.
func TestReview21ShutdownBlockedBodyRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		base := reactortest.Baseline()
		s, inRead, readErr := blockedBodyServer(t, b)
		serveErr := make(chan error, 1)
		go func() { serveErr <- s.Serve() }()
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
		select {
		case <-inRead:
		case <-time.After(5 * time.Second):
			t.Fatal("handler not called")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
		}
		if d := time.Since(t0); d > 3*time.Second {
			t.Fatalf("Shutdown took %v", d)
		}
		select {
		case err := <-readErr:
			if err == nil {
				t.Fatal("Body read succeeded on a body that never came")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("handler still blocked in Body read after Shutdown returned")
		}
		select {
		case err := <-serveErr:
			if !errors.Is(err, ErrServerClosed) {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return")
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatalf("second Shutdown: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close after Shutdown: %v", err)
		}
		c.Close()
		reactortest.BackToBase(t, base, 64<<20)
	})
}

// Shutdown while clients keep connecting and sending requests: every request the server
// answered is whole, Shutdown returns nil, nothing remains.
func TestReview21ShutdownUnderArrivals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		base := reactortest.Baseline()
		s := &Server{Handler: HandlerFunc(echoPath), Logger: quietLogger(),
			Reactor: []reactor.Option{reactor.WithBackend(b), reactor.WithLoops(2)}}
		if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
			if errors.Is(err, reactor.ErrBackendUnavailable) {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		serveErr := make(chan error, 1)
		go func() { serveErr <- s.Serve() }()
		addr := s.Addr().String()
		stop := make(chan struct{})
		bad := make(chan string, 16)
		done := make(chan struct{}, 4)
		for range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for {
					select {
					case <-stop:
						return
					default:
					}
					c, err := net.DialTimeout("tcp", addr, time.Second)
					if err != nil {
						continue
					}
					c.SetDeadline(time.Now().Add(5 * time.Second))
					io.WriteString(c, "GET /abc HTTP/1.1\r\nHost: x\r\n\r\n")
					resp, err := http.ReadResponse(bufio.NewReader(c), nil)
					if err == nil {
						body, err := io.ReadAll(resp.Body)
						if err != nil || !strings.Contains(string(body), "/abc") {
							select {
							case bad <- "body " + string(body) + " " + reviewErrString(err):
							default:
							}
						}
					}
					c.Close()
				}
			}()
		}
		time.Sleep(200 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		close(stop)
		for range 4 {
			<-done
		}
		select {
		case m := <-bad:
			t.Fatal(m)
		default:
		}
		if err := <-serveErr; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
		runtime.GC()
		reactortest.BackToBase(t, base, 64<<20)
	})
}

func reviewErrString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Shutdown with an idle keep-alive conn and one that sent half a head: the idle one is closed
// at once, the other gets its response with "Connection: close" once its head is complete,
// then Shutdown returns nil. A fast-path handler calling Shutdown itself does not hang.
func TestReview21ShutdownHalfHead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		var s *Server
		s = &Server{Handler: HandlerFunc(func(c *Ctx) {
			if string(c.Path()) == "/stop" {
				s.Shutdown(context.Background())
			}
			echoPath(c)
		})}
		addr := startServer(t, b, s)
		idle := dial(t, addr)
		io.WriteString(idle, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(idle)
		readResponses(t, br, 1)
		half := dial(t, addr)
		io.WriteString(half, "GET /b HTTP/1.1\r\nHo")
		time.Sleep(50 * time.Millisecond)
		sd := make(chan error, 1)
		go func() { sd <- s.Shutdown(context.Background()) }()
		idle.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, err := br.Read(make([]byte, 1)); err == nil {
			t.Fatalf("idle conn read %d bytes after Shutdown", n)
		}
		select {
		case err := <-sd:
			t.Fatalf("Shutdown returned %v with a request in progress", err)
		case <-time.After(100 * time.Millisecond):
		}
		io.WriteString(half, "st: x\r\n\r\n")
		half.SetReadDeadline(time.Now().Add(3 * time.Second))
		rs := readResponses(t, bufio.NewReader(half), 1)
		if rs[0].StatusCode != 200 || !rs[0].Close {
			t.Fatalf("status %d close %v", rs[0].StatusCode, rs[0].Close)
		}
		select {
		case err := <-sd:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Shutdown did not return")
		}
	})
}

// Close while Shutdown waits for a FromHTTP handler blocked reading a body that never comes:
// both return, the handler's read fails, nothing remains.
func TestReview21CloseDuringShutdown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		base := reactortest.Baseline()
		s, inRead, readErr := blockedBodyServer(t, b)
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
		select {
		case <-inRead:
		case <-time.After(5 * time.Second):
			t.Fatal("handler not called")
		}
		sd := make(chan error, 1)
		go func() { sd <- s.Shutdown(context.Background()) }()
		time.Sleep(100 * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sd:
		case <-time.After(5 * time.Second):
			t.Fatal("Shutdown did not return after Close")
		}
		select {
		case err := <-readErr:
			if err == nil {
				t.Fatal("Body read succeeded")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("handler still blocked")
		}
		c.Close()
		reactortest.BackToBase(t, base, 64<<20)
	})
}

// blockedBodyServer listens (not serving yet) with a FromHTTP handler that reads its whole
// request body: inRead gets a value when it starts reading, readErr the read's error.
func blockedBodyServer(t *testing.T, b reactor.Backend) (s *Server, inRead chan struct{}, readErr chan error) {
	t.Helper()
	inRead, readErr = make(chan struct{}, 1), make(chan error, 1)
	s = &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inRead <- struct{}{}
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})), Logger: quietLogger(),
		Reactor: []reactor.Option{reactor.WithBackend(b), reactor.WithLoops(2)}}
	if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
		if errors.Is(err, reactor.ErrBackendUnavailable) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return s, inRead, readErr
}
