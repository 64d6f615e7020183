//go:build linux

package reactor

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// readToEnd reads c until an error and returns the bytes read and the error.
func readToEnd(c net.Conn) (int64, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return io.Copy(io.Discard, c)
}

// Reset on a unix socket, which has no RST: the peer must not read a clean EOF unless Reset
// reported errors.ErrUnsupported (it used to return nil; the peer read EOF).
func TestReview21ResetUnix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := filepath.Join(t.TempDir(), "s.sock")
		closed := make(chan error, 1)
		resetErr := make(chan error, 1)
		h := HandlerFuncs{
			Data: func(c *Conn, in []byte) int {
				c.Write([]byte("partial body"))
				resetErr <- c.Reset()
				return len(in)
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s, err := Listen("unix", path, h, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("go"))
		n, err := readToEnd(c)
		if err := <-closed; err == nil {
			t.Errorf("OnClose nil after Reset")
		}
		// Reset promises the peer a reset (ECONNRESET), or, where the socket has none,
		// says so (errors.ErrUnsupported): a close-delimited message must not pass
		// silently as complete.
		rerr := <-resetErr
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(rerr, errors.ErrUnsupported) {
			t.Fatalf("Reset returned %v; the peer read %d bytes, then %v: a clean EOF", rerr, n, err)
		}
	})
}

// Reset from OnReadEOF with output queued: the half-closed peer sees a reset.
func TestReview21ResetAfterReadEOF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rec := newCloseRecorder()
		h := &readEOFFuncs{HandlerFuncs: HandlerFuncs{Close: rec.record}, eof: func(c *Conn) {
			c.Write(make([]byte, 4<<20))
			if err := c.Reset(); err != nil {
				t.Errorf("Reset: %v", err)
			}
			if err := c.Reset(); err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("second Reset: %v, want nil or ErrClosed", err) // the first one's abort is queued
			}
		}}
		s := start(t, b, h, WithLoops(1))
		c := dial(t, s)
		c.Write([]byte("req"))
		c.CloseWrite()
		expectReset(t, c, rec)
	})
}

// Reset of a conn closing after the peer's EOF (no ReadEOFHandler), output queued
// and the peer not reading: a timer resets it.
func TestReview21ResetWhileClosing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rec := newCloseRecorder()
		resetErr := make(chan error, 1)
		h := HandlerFuncs{
			Data: func(c *Conn, in []byte) int {
				c.Write(make([]byte, 8<<20))
				c.Loop().AfterFunc(100*time.Millisecond, func() { resetErr <- c.Reset() })
				return len(in)
			},
			Close: rec.record,
		}
		s := start(t, b, h, WithLoops(1))
		c := dial(t, s)
		c.Write([]byte("req"))
		c.CloseWrite()
		if err := <-resetErr; err != nil {
			t.Fatalf("Reset while closing: %v", err)
		}
		expectReset(t, c, rec)
	})
}

// conns reset right after connect (data sent, then RST): every OnOpen gets its OnClose,
// nothing stays counted.
func TestReview21ResetRightAfterAccept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rec := newCloseRecorder()
		var opens = make(chan struct{}, 1000)
		h := HandlerFuncs{
			Open:  func(c *Conn) { opens <- struct{}{} },
			Data:  func(c *Conn, d []byte) int { c.Write(d); return len(d) },
			Close: rec.record,
		}
		s := start(t, b, h)
		for i := 0; i < 40; i++ {
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				c.Write([]byte("hello"))
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
		deadline := time.Now().Add(10 * time.Second)
		for s.NumConns() != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := s.NumConns(); n != 0 {
			t.Fatalf("%d conns still counted", n)
		}
		for len(opens) != len(rec.ch) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if len(opens) != len(rec.ch) {
			t.Fatalf("%d opens, %d closes", len(opens), len(rec.ch))
		}
	})
}

// graceful Close of a unix conn whose peer is still sending a large body: the peer
// reads the whole output and then EOF.
func TestReview21UnixCloseWhilePeerSends(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := filepath.Join(t.TempDir(), "s.sock")
		out := pattern(200<<10, 3)
		h := HandlerFuncs{
			Data: func(c *Conn, in []byte) int {
				c.Write(out)
				c.Close()
				return len(in)
			},
		}
		s, err := Listen("unix", path, h, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			big := make([]byte, 4<<20)
			c.Write(big)
		}()
		time.Sleep(50 * time.Millisecond)
		n, err := readToEnd(c)
		if n != int64(len(out)) || err != nil {
			t.Fatalf("read %d of %d bytes, then %v", n, len(out), err)
		}
	})
}

// expectReset fails unless the peer c reads up to a reset (ECONNRESET) and the server's
// OnClose, recorded by rec, got an error.
func expectReset(t *testing.T, c net.Conn, rec *closeRecorder) {
	t.Helper()
	n, err := readToEnd(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read %d bytes, then %v; want ECONNRESET", n, err)
	}
	if err := rec.next(t); err == nil {
		t.Fatal("OnClose nil after Reset")
	}
}
