//go:build linux

package reactor

import (
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// A paused conn whose peer reset it keeps its input until reading resumes (review17). When the
// handler, shown that input again, calls CloseWithError, OnClose must get that error, as on
// epoll (which reads the reset only after the input, and stops reading at the CloseWithError):
// on io_uring redeliverBeforeEOF finished the conn with the stored reset right after OnData,
// ahead of the abort task, and OnClose got ECONNRESET.
func TestPausedResetCloseWithErrorOnRedelivery(t *testing.T) {
	const total = 20 << 10
	errMine := errors.New("mine")
	forEachBackend(t, func(t *testing.T, b Backend) {
		var ready atomic.Bool
		closed := make(chan error, 1)
		calls := 0
		h := HandlerFuncs{
			Open: func(c *Conn) { ready.Store(waitQueuedThenReset(c.Fd(), total)) },
			Data: func(c *Conn, d []byte) int {
				calls++
				if calls == 1 {
					c.PauseReading()
					c.Loop().AfterFunc(100*time.Millisecond, func() { c.ResumeReading() })
					return 100
				}
				c.CloseWithError(errMine)
				return len(d)
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s := start(t, b, h, WithLoops(1))
		sendThenReset(t, s.Addr().String(), pattern(total, 3))
		select {
		case err := <-closed:
			if !ready.Load() {
				t.Skip("bytes and reset not both queued before OnOpen returned")
			}
			if err != errMine {
				t.Fatalf("OnClose got %v, want the CloseWithError error %v", err, errMine)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no OnClose")
		}
	})
}

// CloseWithError on the loop right before Server.Close keeps its error (review17), also when an
// AsyncWrite with a callback was queued for the same conn before it: outside a teardown the
// write is queued, then the abort closes c with its error; the teardown's closeQueue finished c
// with ErrServerClosed for the write task first.
func TestCloseWithErrorAfterAsyncWriteBeforeServerClose(t *testing.T) {
	errMine := errors.New("kicked")
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		closed := make(chan error, 1)
		doneErr := make(chan error, 1)
		var sp atomic.Pointer[Server]
		h := HandlerFuncs{
			Open: func(c *Conn) {
				c.Loop().AfterFunc(10*time.Millisecond, func() {
					c.AsyncWrite([]byte("x"), func(err error) { doneErr <- err })
					c.CloseWithError(errMine)
					sp.Load().Close()
				})
				opened <- c
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s := start(t, b, h, WithLoops(1))
		sp.Store(s)
		dial(t, s)
		awaitConn(t, opened, "no OnOpen")
		select {
		case err := <-closed:
			if err != errMine {
				t.Fatalf("OnClose got %v, want the CloseWithError error %v", err, errMine)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
		select {
		case err := <-doneErr:
			if err != errMine { // what it gets outside a teardown (the abort fails the queued write)
				t.Errorf("AsyncWrite callback got %v, want %v", err, errMine)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no AsyncWrite callback")
		}
	})
}

// A runtime.Goexit in the OnClose that closeQueue's abort task runs during the teardown: the
// loop still ends promptly, the other conn is closed, and a func queued after the abort runs.
func TestGoexitInAbortOnCloseDuringTeardown(t *testing.T) {
	errMine := errors.New("kicked")
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 2)
		ran, fired := make(chan struct{}), make(chan struct{})
		var sp atomic.Pointer[Server]
		var n atomic.Int32
		s := startNoCleanup(t, b, HandlerFuncs{
			Open: func(c *Conn) {
				if n.Add(1) == 2 {
					c.Loop().AfterFunc(10*time.Millisecond, func() {
						c.CloseWithError(errMine)
						c.Loop().Execute(func() { close(ran) })
						sp.Load().Close()
						close(fired)
					})
				}
				opened <- c
			},
			Close: func(c *Conn, err error) {
				if err == errMine {
					runtime.Goexit()
				}
			},
		}, WithLoops(1))
		sp.Store(s)
		var cls []net.Conn
		for range 2 {
			nc, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			cls = append(cls, nc)
			awaitConn(t, opened, "no OnOpen")
		}
		select {
		case <-fired:
		case <-time.After(5 * time.Second):
			t.Fatal("timer never fired")
		}
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Close hangs")
		}
		select {
		case <-ran:
		case <-time.After(time.Second):
			t.Error("func queued after the abort never ran")
		}
		for i, nc := range cls {
			nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := nc.Read(make([]byte, 1)); isTimeout(err) {
				t.Errorf("client %d: server conn not closed: %v", i, err)
			}
		}
	})
}

// Close, then CloseWithError, on a paused conn whose peer reset it while it kept input: "after
// Close it ends the flush Close waits for (OnClose gets err)". On epoll (which has not read the
// reset) OnClose gets err; on io_uring closeGraceful finished the conn with the stored reset
// at once, ahead of the abort task queued right behind it.
func TestPausedResetCloseThenCloseWithError(t *testing.T) {
	const total = 20 << 10
	errMine := errors.New("mine")
	forEachBackend(t, func(t *testing.T, b Backend) {
		var ready atomic.Bool
		closed := make(chan error, 1)
		calls := 0
		h := HandlerFuncs{
			Open: func(c *Conn) { ready.Store(waitQueuedThenReset(c.Fd(), total)) },
			Data: func(c *Conn, d []byte) int {
				if calls++; calls == 1 {
					c.PauseReading()
					c.Loop().AfterFunc(100*time.Millisecond, func() {
						c.Close()
						c.CloseWithError(errMine)
					})
					return 100
				}
				return len(d)
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s := start(t, b, h, WithLoops(1))
		sendThenReset(t, s.Addr().String(), pattern(total, 4))
		select {
		case err := <-closed:
			if !ready.Load() {
				t.Skip("bytes and reset not both queued before OnOpen returned")
			}
			if err != errMine {
				t.Fatalf("OnClose got %v, want the CloseWithError error %v", err, errMine)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no OnClose")
		}
	})
}
