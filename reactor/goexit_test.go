//go:build linux

package reactor

import (
	"errors"
	"net"
	"runtime"
	"testing"
	"time"
)

// startNoCleanup is start without the Cleanup that closes the server (a
// hanging Close would hang the test run).
func startNoCleanup(t *testing.T, b Backend, h Handler, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{legBackend(b), WithLoops(1), WithLogger(quietLogger())}, opts...)
	s, err := Listen("tcp", "127.0.0.1:0", h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func closeWithin(t *testing.T, s *Server, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("Server.Close did not return within %v", d)
	}
}

// handler.go: "runtime.Goexit in a callback ends the loop goroutine, so the
// loop closes its conns and listener first (Close and Shutdown still
// return". A Goexit in OnClose while Close tears the loop down (t.Fatal on
// the ErrServerClosed an OnClose gets then) leaves l.done open: serve's
// deferred handler sees normal set and does nothing, so Close never returns.
func TestGoexitInOnCloseDuringClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan struct{}, 1)
		s := startNoCleanup(t, b, HandlerFuncs{
			Open: func(*Conn) { opened <- struct{}{} },
			Data: func(c *Conn, d []byte) int { return len(d) },
			Close: func(c *Conn, err error) {
				if errors.Is(err, ErrServerClosed) {
					runtime.Goexit() // t.Fatalf("unexpected close: %v", err)
				}
			},
		})
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		<-opened
		closeWithin(t, s, 5*time.Second)
	})
}

// A Goexit in a loop func (Execute) tears the loop down, but the tasks taken
// from the queue in the same batch after it are dropped: an AsyncWrite's done
// is never called (its doc: done runs once b was sent or the conn closed
// first), and an Execute'd func never runs although teardown promises that
// "the funcs that Execute accepted run".
func TestGoexitInTaskDropsBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		conns := make(chan *Conn, 1)
		s := startNoCleanup(t, b, HandlerFuncs{
			Open: func(c *Conn) { conns <- c },
			Data: func(c *Conn, d []byte) int { return len(d) },
		})
		defer closeWithin(t, s, 5*time.Second)
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		c := <-conns
		l := s.Loops()[0]
		doneErr := make(chan error, 1)
		ran := make(chan struct{})
		// Queue the three tasks from the loop so that one runTasks takes them all.
		l.Execute(func() {
			l.Execute(func() { runtime.Goexit() })
			c.AsyncWrite([]byte("x"), func(err error) { doneErr <- err })
			l.Execute(func() { close(ran) })
		})
		select {
		case err := <-doneErr:
			t.Logf("AsyncWrite done: %v", err)
		case <-time.After(3 * time.Second):
			t.Errorf("AsyncWrite's done never called after a Goexit on the loop")
		}
		select {
		case <-ran:
		case <-time.After(1 * time.Second):
			t.Errorf("an Execute'd func never ran after a Goexit on the loop")
		}
	})
}

// A Goexit in OnData on io_uring: the wait copied a batch of CQEs out and
// released it to the kernel before dispatching it, so the CQEs after the one
// whose callback called Goexit are never dispatched: an accept CQE among them
// carries a new fd nobody closes (the server leaks it and the client never
// sees a close).
func TestGoexitLosesAcceptedFd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		conns := make(chan *Conn, 8)
		s := startNoCleanup(t, b, HandlerFuncs{
			Open: func(c *Conn) { conns <- c },
			Data: func(c *Conn, d []byte) int {
				if string(d) == "exit" {
					runtime.Goexit()
				}
				return len(d)
			},
		})
		defer closeWithin(t, s, 5*time.Second)
		a, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		<-conns
		l := s.Loops()[0]
		var bc net.Conn
		blocked := make(chan struct{})
		l.Execute(func() {
			close(blocked)
			time.Sleep(200 * time.Millisecond) // A's input and B's connect complete meanwhile
		})
		<-blocked
		a.Write([]byte("exit"))
		time.Sleep(20 * time.Millisecond)
		bc, err = net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer bc.Close()
		bc.SetReadDeadline(time.Now().Add(4 * time.Second))
		var buf [16]byte
		_, err = bc.Read(buf[:])
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("the conn accepted in the Goexit's batch was never closed (server fd leaked)")
		} else {
			t.Logf("B: %v", err)
		}
	})
}

// The same at teardown: closeQueue runs the funcs Execute accepted, but a
// Goexit in one of them drops the others.
func TestGoexitInTeardownFuncDropsOthers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := startNoCleanup(t, b, HandlerFuncs{})
		l := s.Loops()[0]
		ran := make(chan struct{})
		doneQueued := make(chan struct{})
		l.Execute(func() {
			l.Execute(func() { runtime.Goexit() })
			l.Execute(func() { close(ran) })
			s.Close() // on the loop: stops it; the two funcs run at its teardown
			close(doneQueued)
		})
		<-doneQueued
		closeWithin(t, s, 5*time.Second)
		select {
		case <-ran:
		case <-time.After(time.Second):
			t.Errorf("an Execute'd func never ran: a Goexit in the func before it at teardown dropped it")
		}
	})
}
