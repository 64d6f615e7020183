package httpx

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// A client pipelines many requests for large responses in one write and reads nothing. The
// reactor pauses reading above its high-water mark (1 MiB), but an engine that served every
// request of the 64 KiB input window in one feed made the server hold 1,000 x 64 KiB = 64 MiB for
// one connection that reads nothing. A handler that streams (Ctx.Flush) hands its output to the
// connection itself, past the engine's collected output: it is bounded the same way.
func TestPipelinedBigResponsesBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		for _, flush := range []bool{false, true} {
			const respSize = 64 << 10
			const nreq = 1000
			big := strings.Repeat("x", respSize)
			var served atomic.Int64
			addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
				served.Add(1)
				c.WriteString(big)
				if flush {
					c.Flush()
				}
			})})
			c := dial(t, addr)
			req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
			if _, err := io.WriteString(c, strings.Repeat(req, nreq)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1 * time.Second) // the client reads nothing meanwhile
			n := served.Load()
			t.Logf("flush %v: served %d of %d requests (%d MiB of responses) while the client read nothing", flush, n, nreq, n*respSize>>20)
			// High-water mark 1 MiB plus what the kernel's socket buffers hold (a few MiB on
			// loopback): far fewer than 200 responses of 64 KiB.
			if n > 200 {
				t.Errorf("flush %v: served %d requests (%d MiB buffered) for a client that reads nothing", flush, n, n*respSize>>20)
			}
			// Then every response arrives, in order, complete.
			br := bufio.NewReaderSize(c, 1<<20)
			rs := readResponses(t, br, nreq)
			for i, r := range rs {
				if s := bodyString(r); len(s) != respSize {
					t.Fatalf("flush %v: response %d: %d bytes", flush, i, len(s))
				}
			}
		}
	})
}

// The same with the client's EOF right behind its requests:
// every response arrives complete and in order, then the close.
func TestPipelinedBigResponsesHalfClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const respSize = 64 << 10
		const nreq = 300
		big := strings.Repeat("x", respSize)
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			c.WriteString(big)
		})})
		c := dial(t, addr)
		req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
		io.WriteString(c, strings.Repeat(req, nreq))
		c.(*net.TCPConn).CloseWrite()
		time.Sleep(300 * time.Millisecond)
		br := bufio.NewReaderSize(c, 1<<20)
		rs := readResponses(t, br, nreq)
		for i, r := range rs {
			if s := bodyString(r); len(s) != respSize {
				t.Fatalf("response %d: %d bytes", i, len(s))
			}
		}
		if rest := expectClosed(t, c); len(rest) != 0 {
			t.Fatalf("after the responses: %q", rest[:min(len(rest), 100)])
		}
	})
}

// Shutdown while pipelined requests wait for the output to
// drain: every response that is sent is complete, the last says "Connection: close", then the
// connection closes and Shutdown returns.
func TestPipelinedBigResponsesShutdown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const respSize = 64 << 10
		const nreq = 300
		big := strings.Repeat("x", respSize)
		s := &Server{Handler: HandlerFunc(func(c *Ctx) { c.WriteString(big) })}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		io.WriteString(c, strings.Repeat("GET / HTTP/1.1\r\nHost: a\r\n\r\n", nreq))
		time.Sleep(200 * time.Millisecond)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			done <- s.Shutdown(ctx)
		}()
		time.Sleep(200 * time.Millisecond)
		br := bufio.NewReaderSize(c, 1<<20)
		n := 0
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				if err != io.EOF {
					t.Fatalf("after %d responses: %v", n, err)
				}
				break
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil || len(body) != respSize {
				t.Fatalf("response %d: %d bytes, %v", n, len(body), err)
			}
			n++
			if resp.Close {
				if _, err := br.ReadByte(); err != io.EOF {
					t.Fatalf("bytes after the Connection: close response: %v", err)
				}
				break
			}
		}
		t.Logf("%d complete responses before the close", n)
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	})
}

// A fast-path handler that ends its goroutine with runtime.Goexit (t.FailNow, t.Fatal or
// t.SkipNow inside a handler in a test) is not recovered like a panic: Goexit unwinds the loop
// goroutine itself: the loop stops without closing anything, every connection of the loop hangs
// (the one whose handler exited too) and Server.Close never returns.
func TestFastHandlerGoexit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(func(c *Ctx) {
			if string(c.Path()) == "/exit" {
				runtime.Goexit()
			}
			c.WriteString("ok")
		}), Reactor: []reactor.Option{reactor.WithLoops(1)}}
		s.Logger = quietLogger()
		s.Reactor = append(s.Reactor, reactor.WithBackend(b))
		if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Skip(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		addr := s.Addr().String()
		defer func() {
			done := make(chan struct{})
			go func() { s.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Errorf("Close hung after the Goexit")
			}
		}()
		c1, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c1.Close()
		c1.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c1, "GET /exit HTTP/1.1\r\nHost: a\r\n\r\n")
		out, err := io.ReadAll(c1)
		t.Logf("the Goexit request got %q, %v", out, err)
		if err != nil {
			t.Errorf("the connection whose handler called Goexit was left open: %v", err)
		}
	})
}
