//go:build linux

package reactor

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// failOnceWait makes the loop's next wait fail once (as a broken ring or
// epoll fd would), then behaves as the real backend.
type failOnceWait struct {
	backend
	failed atomic.Bool
}

func (f *failOnceWait) wait(d time.Duration) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("injected wait failure")
	}
	return f.backend.wait(d)
}

// (d) A loop whose wait fails tears down without stopReq set: a handler's
// OnClose (run by the teardown) can still Dial, and that conn is neither
// refused nor closed with OnClose: Server.NumConns stays above 0 for ever.
func TestReview19DialInOnCloseAfterFailedWait(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		target := upstream(t, func(c net.Conn) {})
		var dialOpened, dialClosed atomic.Int32
		dialErr := make(chan error, 1)
		dh := HandlerFuncs{
			Open:  func(c *Conn) { dialOpened.Add(1) },
			Close: func(c *Conn, err error) { dialClosed.Add(1) },
		}
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) { opened <- c },
			Close: func(c *Conn, err error) {
				_, derr := c.Loop().Dial("tcp", target.Addr().String(), dh)
				dialErr <- derr
			},
		}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		_ = cl
		c := awaitConn(t, opened, "OnOpen")
		l := c.Loop()
		if err := l.Execute(func() { l.b = &failOnceWait{backend: l.b} }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatal("loop did not end after the failed wait")
		}
		derr := <-dialErr
		t.Logf("Dial in OnClose: err %v; dialed conn: OnOpen %d, OnClose %d; NumConns %d",
			derr, dialOpened.Load(), dialClosed.Load(), s.NumConns())
		if derr == nil && dialClosed.Load() == 0 {
			t.Errorf("Dial during the teardown succeeded but its conn never got OnClose (OnOpen %d)", dialOpened.Load())
		}
		if n := s.NumConns(); n != 0 {
			t.Errorf("NumConns %d after every loop ended, want 0", n)
		}
	})
}

// (c) A write deadline that passes while nothing is queued is forgotten: a
// later Write to a peer that reads nothing never times out, though the
// deadline has passed (net.Conn: a deadline in the past fails every later
// I/O; the same Write made in the iteration that set the deadline is failed).
func TestReview19WriteDeadlinePassedThenWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		closed := make(chan error, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
				c.Loop().AfterFunc(200*time.Millisecond, func() {
					c.Write(make([]byte, 32<<20)) // the client reads nothing: stays queued
				})
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		cl.SetReadBuffer(64 << 10)
		select {
		case err := <-closed:
			if !errors.Is(err, ErrDeadline) {
				t.Fatalf("OnClose(%v), want ErrDeadline", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("32 MiB queued after the write deadline passed: no ErrDeadline within 3s (deadline forgotten)")
		}
	})
}

// (f) Shutdown while a Go func that a busy conn waits on is blocked off the
// loop (taken over): Shutdown waits for its continuation, the answer goes
// out, and nothing is left behind.
func TestReview19ShutdownWaitsTakenOverGo(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		before := snapshot()
		started := make(chan struct{}, 1)
		h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			c.SetBusy(true)
			then := func() { c.Write([]byte("resp")); c.SetBusy(false) }
			if !c.Loop().Go(func() func() {
				started <- struct{}{}
				time.Sleep(300 * time.Millisecond)
				return then
			}) {
				started <- struct{}{}
				c.Loop().AfterFunc(300*time.Millisecond, then)
			}
			return len(d)
		}}
		s, err := Listen("tcp", "127.0.0.1:0", h, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		cl, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		cl.Write([]byte("req"))
		<-started
		ctx, cancel := contextWithTimeout(5 * time.Second)
		t0 := time.Now()
		serr := s.Shutdown(ctx)
		cancel()
		cl.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 16)
		n, rerr := cl.Read(buf)
		cl.Close()
		t.Logf("Shutdown %v after %v; read %q %v", serr, time.Since(t0), buf[:n], rerr)
		if serr != nil || string(buf[:n]) != "resp" {
			t.Fatalf("Shutdown %v, read %q %v: want nil and the answer", serr, buf[:n], rerr)
		}
		time.Sleep(400 * time.Millisecond)
		checkNoLeaks(t, before)
	})
}

// A proxy's handler, busy with a request when Shutdown is called (so
// Shutdown waits for it, "lets handlers finish"), cannot Dial its upstream:
// Dial answers ErrLoopClosed while the loop drains, so the request fails.
func TestReview19DialFromBusyHandlerDuringShutdown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		up := upstream(t, func(c net.Conn) { c.Write([]byte("upstream")); c.Close() })
		got := make(chan struct{}, 1)
		h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			c.SetBusy(true) // a request in progress
			got <- struct{}{}
			l := c.Loop()
			l.AfterFunc(100*time.Millisecond, func() { // e.g. the request's body completes
				_, err := l.Dial("tcp", up.Addr().String(), HandlerFuncs{
					Open: func(uc *Conn) { uc.SetBusy(true) }, // waits for the answer
					Data: func(uc *Conn, ud []byte) int {
						c.Write(ud)
						return len(ud)
					},
					Close: func(uc *Conn, err error) { c.SetBusy(false); c.Close() },
				})
				if err != nil {
					c.Write([]byte("dial: " + err.Error()))
					c.SetBusy(false)
					c.Close()
				}
			})
			return len(d)
		}}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		cl.Write([]byte("req"))
		<-got
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		serr := s.Shutdown(ctx)
		cl.SetReadDeadline(time.Now().Add(2 * time.Second))
		var all []byte
		buf := make([]byte, 64)
		for {
			n, err := cl.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		t.Logf("Shutdown %v; client got %q", serr, all)
		if string(all) != "upstream" {
			t.Fatalf("busy proxy handler during Shutdown: client got %q, want the upstream's answer", all)
		}
	})
}

// (b) Dial then Close at once (same callback): which events the dialed conn
// gets, per backend.
func TestReview19DialCloseAtOnceEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		up := upstream(t, func(c net.Conn) { c.Close() })
		s := oneLoop(t, b)
		defer s.Close()
		l := s.Loops()[0]
		type ev struct {
			open   bool
			closed error
		}
		res := make(chan ev, 100)
		counts := map[string]int{}
		for i := 0; i < 20; i++ {
			var e ev
			onLoopDo(t, l, func() {
				c, err := l.Dial("tcp", up.Addr().String(), HandlerFuncs{
					Open:  func(*Conn) { e.open = true },
					Close: func(_ *Conn, err error) { e.closed = err; res <- e },
				})
				if err != nil {
					t.Error(err)
					return
				}
				c.Close()
			})
			select {
			case e := <-res:
				counts[fmtEv(e.open, e.closed)]++
			case <-time.After(5 * time.Second):
				t.Fatal("no OnClose")
			}
		}
		t.Logf("%v", counts)
	})
}

func fmtEv(open bool, err error) string {
	s := "noOpen"
	if open {
		s = "Open"
	}
	if err == nil {
		return s + "+Close(nil)"
	}
	return s + "+Close(" + err.Error() + ")"
}

// upstream listens on loopback and gives each conn it accepts to serve; the
// listener and the conns still open are closed when the test ends.
func upstream(t *testing.T, serve func(c net.Conn)) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			serve(c)
		}
	}()
	return ln
}
