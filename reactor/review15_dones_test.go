//go:build linux

package reactor

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server.Close: an AsyncWrite still in the task queue must not report before
// one the loop took earlier (its done waits on the conn's queue).
func TestDonesTeardownDoneOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
			c.Write(pattern(4<<20, 1)) // the peer reads nothing
			opened <- c
		}}
		s, _, c := startOpened(t, b, h, opened)
		var mu sync.Mutex
		var order []string
		rec := func(name string) func(error) {
			return func(err error) { mu.Lock(); order = append(order, name); mu.Unlock() }
		}
		if err := c.AsyncWrite(nil, rec("A")); err != nil {
			t.Fatal(err)
		}
		ran := make(chan struct{})
		c.Loop().Execute(func() { close(ran) })
		<-ran // the loop took A: it waits for the 4 MiB queued
		block, blocked := make(chan struct{}), make(chan struct{})
		c.Loop().Execute(func() { close(blocked); <-block })
		<-blocked
		if err := c.AsyncWrite(nil, rec("B")); err != nil { // stays in the task queue
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { s.Close(); close(closed) }()
		time.Sleep(100 * time.Millisecond) // Close asked the loop to stop
		close(block)
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close hangs")
		}
		mu.Lock()
		defer mu.Unlock()
		if len(order) != 2 || order[0] != "A" || order[1] != "B" {
			t.Fatalf("done callbacks ran in order %v, want [A B]", order)
		}
	})
}

// A runtime.Goexit in a NotifySent callback (t.FailNow in a test) ends the
// loop; the callbacks that ran before it in the same batch must not run again
// in the teardown.
func TestDonesGoexitInNotifySentRunsOthersOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var mu sync.Mutex
		var calls []error
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
			c.Write(pattern(4<<20, 1))
			q := c.Buffered()
			c.NotifySent(q-1, func(err error) { mu.Lock(); calls = append(calls, err); mu.Unlock() })
			c.NotifySent(q-2, func(err error) { runtime.Goexit() })
		}}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		cl.SetReadDeadline(time.Now().Add(10 * time.Second))
		go io.Copy(io.Discard, cl)
		select {
		case <-s.Loops()[0].done:
		case <-time.After(10 * time.Second):
			t.Fatal("the loop did not end")
		}
		s.Close()
		cl.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(calls) != 1 {
			t.Fatalf("callback ran %d times (%v), want once", len(calls), calls)
		}
	})
}

// CloseWithError from a done callback that runs on a partial send: nothing
// more may be sent after it.
func TestCloseWithErrorInCallbackSendsNothingMore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const total = 4 << 20
		errX := errors.New("stop")
		sentAt := make(chan int, 64)
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 64<<10)
			c.Write(pattern(total, 1))
			c.NotifySent(c.Buffered()-1, func(err error) {
				if err != nil {
					sentAt <- -1
					return
				}
				sentAt <- total - c.Buffered()
				c.CloseWithError(errX)
			})
		}}
		s := start(t, b, h)
		bad := 0
		for i := 0; i < 20; i++ {
			cl := dial(t, s)
			cl.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _ := io.Copy(io.Discard, cl)
			cl.Close()
			var at int
			select {
			case at = <-sentAt:
			case <-time.After(5 * time.Second):
				t.Fatal("no callback")
			}
			if at < 0 {
				t.Fatal("callback got an error")
			}
			if int(n) > at {
				bad++
				t.Logf("round %d: peer read %d bytes, %d were sent when CloseWithError was called", i, n, at)
			}
		}
		if bad > 0 {
			t.Fatalf("%d of 20 rounds sent output after CloseWithError", bad)
		}
	})
}

var _ = net.Dial

// AsyncWrite's bound: a second write of the limit's size, while the first
// (taken into an empty queue) is still queued and the peer reads nothing, is
// refused; the loop must not open a window where neither count shows it.
func TestAsyncWriteBoundWhileLoopTakesWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const limit = 1 << 20
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
			opened <- c
		}}
		s := start(t, b, h, WithAsyncWriteLimit(limit))
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
		}}
		bad := 0
		for round := 0; round < 10; round++ {
			cl, err := d.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c := awaitConn(t, opened, "no OnOpen")
			if err := c.AsyncWrite(make([]byte, limit), nil); err != nil {
				t.Fatal(err)
			}
			accepted := 0
			deadline := time.Now().Add(300 * time.Millisecond)
			for time.Now().Before(deadline) && accepted == 0 {
				if c.AsyncWrite(make([]byte, limit), nil) == nil {
					accepted++
				}
			}
			queued := make(chan int, 1)
			c.Loop().Execute(func() { queued <- c.Buffered() })
			q := <-queued
			if accepted > 0 {
				bad++
				t.Logf("round %d: a second %d-byte AsyncWrite was taken; %d bytes queued (limit %d)", round, limit, q, limit)
			}
			cl.Close()
		}
		if bad > 0 {
			t.Fatalf("%d of 10 rounds went over the bound by a whole write", bad)
		}
	})
}

// AsyncWrite's doc: "Output queued on the loop with Write counts once it
// reaches 64 KiB". Output a loop func (or OnData) queued counts before the
// loop's flush at the end of the iteration.
func TestAsyncWriteBoundCountsWriteAtOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const limit = 1 << 20
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
			opened <- c
		}}
		s := start(t, b, h, WithAsyncWriteLimit(limit))
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
		}}
		cl, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		c := awaitConn(t, opened, "no OnOpen")
		wrote, res := make(chan int, 1), make(chan error, 1)
		c.Loop().Execute(func() {
			c.Write(make([]byte, 4<<20))
			wrote <- c.Buffered()
			<-res // as if the iteration went on with other conns' work
		})
		q := <-wrote
		err = c.AsyncWrite(make([]byte, limit), nil)
		res <- nil
		if err == nil {
			t.Fatalf("AsyncWrite of %d bytes taken with %d bytes queued by Write (limit %d)", limit, q, limit)
		}
	})
}

// A runtime.Goexit in a NotifySent callback that the conn's close runs must
// not skip the conn's OnClose.
func TestDonesGoexitInClosingCallbackKeepsOnClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		closes := make(chan error, 4)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
				c.Write(make([]byte, 4<<20)) // the peer reads nothing
				c.NotifySent(0, func(err error) {
					if err != nil {
						runtime.Goexit()
					}
				})
				c.CloseWithError(errors.New("x"))
			},
			Close: func(c *Conn, err error) { closes <- err },
		}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		defer cl.Close()
		select {
		case <-s.Loops()[0].done:
		case <-time.After(10 * time.Second):
			t.Fatal("the loop did not end")
		}
		s.Close()
		select {
		case err := <-closes:
			t.Logf("OnClose: %v", err)
		default:
			t.Fatal("OnClose never ran")
		}
		if n := s.NumConns(); n != 0 {
			t.Fatalf("NumConns %d after Close", n)
		}
	})
}

// A done callback that resumes reading a conn whose peer reset it while
// reading was paused: on io_uring the re-arm reads to the reset at once and
// closes the conn inside the callback, which runs the remaining callbacks in a
// nested fireDones.
func TestDonesCallbackResumeOnResetConn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		paused := make(chan *Conn, 1)
		closes := make(chan error, 1)
		h := HandlerFuncs{
			Data: func(c *Conn, d []byte) int {
				c.PauseReading()
				paused <- c
				return len(d)
			},
			Close: func(c *Conn, err error) { closes <- err },
		}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		cl.Write([]byte("x"))
		c := awaitConn(t, paused, "no OnData")
		time.Sleep(50 * time.Millisecond) // the pause's cancel completed
		cl.SetLinger(0)
		cl.Close() // RST while reading is paused
		time.Sleep(100 * time.Millisecond)
		var mu sync.Mutex
		var calls []error
		done := make(chan struct{}, 4)
		if err := c.AsyncWrite(nil, func(err error) {
			mu.Lock()
			calls = append(calls, err)
			mu.Unlock()
			c.ResumeReading()
			done <- struct{}{}
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("no callback")
		}
		select {
		case err := <-closes:
			t.Logf("OnClose: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
		mu.Lock()
		defer mu.Unlock()
		if len(calls) != 1 {
			t.Fatalf("callback ran %d times: %v", len(calls), calls)
		}
	})
}

// A goroutine streams AsyncWrites; the peer's EOF makes the conn close after
// flushing. A later AsyncWrite fails, but its callback must not run before
// the callback of an earlier one that is still being flushed.
func TestDonesAsyncWriteDoneOrderWhileClosing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
			opened <- c
		}}
		s := start(t, b, h, WithAsyncWriteLimit(64<<20), WithWriteWaterMarks(64<<20, 32<<20))
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
		}}
		conn, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		cl := conn.(*net.TCPConn)
		defer cl.Close()
		c := awaitConn(t, opened, "no OnOpen")
		var mu sync.Mutex
		var order []string
		all := make(chan struct{}, 2)
		rec := func(name string) func(error) {
			return func(err error) {
				mu.Lock()
				order = append(order, name+":"+errString(err))
				mu.Unlock()
				all <- struct{}{}
			}
		}
		if err := c.AsyncWrite(make([]byte, 4<<20), rec("A")); err != nil {
			t.Fatal(err)
		}
		ran := make(chan struct{})
		c.Loop().Execute(func() { close(ran) })
		<-ran
		cl.CloseWrite() // the server closes after flushing A
		time.Sleep(100 * time.Millisecond)
		if err := c.AsyncWrite([]byte("B"), rec("B")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		cl.SetReadDeadline(time.Now().Add(10 * time.Second))
		go io.Copy(io.Discard, cl)
		for i := 0; i < 2; i++ {
			select {
			case <-all:
			case <-time.After(10 * time.Second):
				t.Fatal("callbacks missing")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if order[0][0] != 'A' {
			t.Fatalf("callbacks ran in order %v, want A's first", order)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// Close's doc: a peer that reads nothing holds a closing conn and its queued
// output "until a write deadline or idle timeout set on c ends it
// (CloseWithError, or Server.Close, does at once)".
func TestCloseWithErrorEndsCloseFlush(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		closes := make(chan error, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
				c.Write(make([]byte, 4<<20)) // the peer reads nothing
				opened <- c
			},
			Close: func(c *Conn, err error) { closes <- err },
		}
		s := start(t, b, h)
		cl := dial(t, s)
		defer cl.Close()
		c := awaitConn(t, opened, "no OnOpen")
		c.Close()
		time.Sleep(50 * time.Millisecond)
		errX := errors.New("give up")
		c.CloseWithError(errX)
		select {
		case err := <-closes:
			if err != errX {
				t.Fatalf("OnClose(%v), want %v", err, errX)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("CloseWithError did not end the flush of a closing conn")
		}
	})
}
