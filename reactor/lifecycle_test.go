//go:build linux

package reactor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// TestShutdownDeliversOutputThenLeavesNothing: Shutdown lets a large queued
// response drain to a slow reader, closes idle conns, and afterwards no fd,
// goroutine or io_uring mapping of the server remains.
func TestShutdownDeliversOutputThenLeavesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		before := snapshot()
		big := pattern(4<<20, 21)
		rec := newCloseRecorder()
		s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{
			Data: func(c *Conn, d []byte) int {
				if bytes.Equal(d, []byte("GET")) {
					c.Write(big)
				}
				return len(d)
			},
			Close: rec.record,
		}, legBackend(b), WithLoops(2), WithLogger(quietLogger()), leakBufRing())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		busy, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		busy.Write([]byte("GET"))
		first := make([]byte, 1)
		busy.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(busy, first); err != nil { // the response has started
			t.Fatal(err)
		}
		reactortest.WaitUntil(t, 10*time.Second, "both conns open", func() bool { return s.NumConns() == 2 })
		shutdownErr := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			shutdownErr <- s.Shutdown(ctx)
		}()
		// The idle conn is closed at once (EOF) ...
		idle.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle conn during Shutdown: %v, want EOF", err)
		}
		// ... while the busy one receives all its output, slowly, then EOF.
		var got bytes.Buffer
		got.Write(first)
		buf := make([]byte, 32<<10)
		busy.SetReadDeadline(time.Now().Add(60 * time.Second))
		for {
			n, err := busy.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Microsecond)
		}
		if !bytes.Equal(got.Bytes(), big) {
			t.Fatalf("response through Shutdown: %d bytes, want %d", got.Len(), len(big))
		}
		if err := <-shutdownErr; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		for range 2 {
			if err := rec.next(t); err != nil {
				t.Fatalf("OnClose during graceful Shutdown: %v", err)
			}
		}
		if err := s.Serve(); !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
		busy.Close()
		idle.Close()
		checkNoLeaks(t, before)
	})
}

func TestShutdownContextExpiryCloses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		before := snapshot()
		s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{Open: func(c *Conn) { c.SetBusy(true) }},
			legBackend(b), WithLoops(1), WithLogger(quietLogger()), leakBufRing())
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		c, _ := net.Dial("tcp", s.Addr().String())
		reactortest.WaitUntil(t, 10*time.Second, "conn open", func() bool { return s.NumConns() == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a busy conn: %v, want DeadlineExceeded", err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("conn survived Close")
		}
		c.Close()
		checkNoLeaks(t, before)
	})
}

func TestCloseLeavesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		before := snapshot()
		var mu sync.Mutex
		var errs []error
		s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{
			Data:  func(c *Conn, d []byte) int { c.Write(d); return len(d) },
			Close: func(c *Conn, err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() },
		}, legBackend(b), WithLoops(2), WithLogger(quietLogger()), leakBufRing())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		var clients []net.Conn
		for range 20 {
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			echoRoundTrip(t, c, []byte("x"))
			clients = append(clients, c)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s.Close() // idempotent
		if s.NumConns() != 0 {
			t.Fatalf("NumConns after Close: %d", s.NumConns())
		}
		mu.Lock()
		if len(errs) != 20 {
			t.Fatalf("%d OnClose calls, want 20", len(errs))
		}
		for _, err := range errs {
			if !errors.Is(err, ErrServerClosed) {
				t.Fatalf("OnClose(%v), want ErrServerClosed", err)
			}
		}
		mu.Unlock()
		for _, c := range clients {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatal("client conn still open after Close")
			}
			c.Close()
		}
		checkNoLeaks(t, before)
	})
}

func TestCloseWithoutStart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		before := snapshot()
		s, err := Listen("tcp", "127.0.0.1:0", echoHandler(), legBackend(b), WithLoops(3), WithLogger(quietLogger()), leakBufRing())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Start after Close: %v", err)
		}
		checkNoLeaks(t, before)
	})
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen("udp", "127.0.0.1:0", echoHandler()); err == nil {
		t.Fatal("udp accepted")
	}
	if _, err := Listen("tcp", "127.0.0.1:0", nil); err == nil {
		t.Fatal("nil handler accepted")
	}
	if _, err := Listen("tcp", "127.0.0.1:0", echoHandler(), WithBufferRing(1000, 3)); err == nil {
		t.Fatal("non-power-of-two buffer count accepted")
	}
	if _, err := Listen("tcp", "127.0.0.1:0", echoHandler(), WithWriteWaterMarks(10, 20)); err == nil {
		t.Fatal("low > high accepted")
	}
	s := start(t, BackendEpoll, echoHandler())
	// The port is taken by s: a second server on it (no SO_REUSEPORT
	// sharing across users is assumed) must not silently steal it, but
	// with SO_REUSEPORT on both it may join; just check the error path of
	// a bad address instead.
	_ = s
	if _, err := Listen("tcp", "256.0.0.1:0", echoHandler()); err == nil {
		t.Fatal("bad address accepted")
	}
}

// TestCloseFromHandler: Close and Shutdown called on a loop must not wait
// for that loop (which would deadlock).
func TestCloseFromHandler(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		for _, how := range []string{"close", "shutdown"} {
			t.Run(how, func(t *testing.T) {
				before := snapshot()
				var s *Server
				returned := make(chan error, 1)
				s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{Data: func(c *Conn, d []byte) int {
					if how == "close" {
						returned <- s.Close()
					} else {
						returned <- s.Shutdown(context.Background())
					}
					return len(d)
				}}, legBackend(b), WithLoops(2), WithLogger(quietLogger()))
				if err != nil {
					t.Fatal(err)
				}
				s.Start()
				c, _ := net.Dial("tcp", s.Addr().String())
				c.Write([]byte("x"))
				select {
				case err := <-returned:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("Close/Shutdown from a handler deadlocked")
				}
				if err := s.Serve(); !errors.Is(err, ErrServerClosed) { // waits for the loops
					t.Fatal(err)
				}
				c.Close()
				checkNoLeaks(t, before)
			})
		}
	})
}
