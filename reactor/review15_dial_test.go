//go:build linux

package reactor

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// fullBacklog returns the address of a 127.0.0.1 listener whose accept queue
// is full (backlog 0, one queued conn, never accepted): a connect to it
// stays in SYN_SENT (the SYN is dropped).
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	port := sa.(*unix.SockaddrInet4).Port
	var fillers []int
	for i := 0; i < 3; i++ {
		cfd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		unix.Connect(cfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
		fillers = append(fillers, cfd)
	}
	time.Sleep(50 * time.Millisecond)
	t.Cleanup(func() {
		for _, f := range fillers {
			unix.Close(f)
		}
		unix.Close(fd)
	})
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	// Check: a plain connect hangs.
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
		t.Skip("backlog not full here")
	}
	return addr
}

func itoa(n int) string { return net.JoinHostPort("", "")[:0] + fmtInt(n) }
func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

type dialRec struct {
	opens, closes atomic.Int32
	mu            sync.Mutex
	errs          []error
	ch            chan error
}

func newDialRec() *dialRec { return &dialRec{ch: make(chan error, 100000)} }

func (r *dialRec) h() HandlerFuncs {
	return HandlerFuncs{
		Open: func(*Conn) { r.opens.Add(1) },
		Close: func(c *Conn, err error) {
			r.closes.Add(1)
			r.mu.Lock()
			r.errs = append(r.errs, err)
			r.mu.Unlock()
			r.ch <- err
		},
	}
}

func oneLoop(t *testing.T, b Backend, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{legBackend(b), WithLoops(1), WithLogger(quietLogger())}, opts...)
	s, err := NewServer(echoHandler(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func onLoopDo(t *testing.T, l *Loop, f func()) {
	t.Helper()
	done := make(chan struct{})
	if err := l.Execute(func() { defer close(done); f() }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Execute did not run")
	}
}

// A dial to a blackholed address ends with the read deadline set on it.
func TestDialEdgeDeadlineWhileConnecting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		addr := fullBacklog(t)
		before := reactortest.CountFDs()
		s := oneLoop(t, b)
		defer s.Close()
		rec := newDialRec()
		l := s.Loops()[0]
		const n = 20
		onLoopDo(t, l, func() {
			for i := 0; i < n; i++ {
				c, err := l.Dial("tcp", addr, rec.h())
				if err != nil {
					t.Error(err)
					return
				}
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			}
		})
		for i := 0; i < n; i++ {
			select {
			case err := <-rec.ch:
				if !errors.Is(err, ErrDeadline) {
					t.Fatalf("OnClose(%v), want ErrDeadline", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("only %d of %d dials ended", i, n)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if rec.opens.Load() != 0 || rec.closes.Load() != n {
			t.Fatalf("opens %d closes %d", rec.opens.Load(), rec.closes.Load())
		}
		reactortest.WaitUntil(t, 5*time.Second, "NumConns 0", func() bool { return s.NumConns() == 0 })
		s.Close()
		reactortest.WaitUntil(t, 5*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
	})
}

// Dial then Close at once (before the connect can complete), and Dial,
// Write, Close; and CloseWithError.
func TestDialEdgeCloseWhileConnecting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		hang := fullBacklog(t)
		live := start(t, b, echoHandler(), WithLoops(1))
		before := reactortest.CountFDs()
		s := oneLoop(t, b)
		defer s.Close()
		rec := newDialRec()
		l := s.Loops()[0]
		const n = 50
		onLoopDo(t, l, func() {
			for i := 0; i < n; i++ {
				addr := hang
				if i%2 == 0 {
					addr = live.Addr().String()
				}
				c, err := l.Dial("tcp", addr, rec.h())
				if err != nil {
					t.Error(err)
					return
				}
				switch i % 3 {
				case 0:
					c.Close()
				case 1:
					c.CloseWithError(errAny)
				case 2:
					c.Close()
					c.Close()
				}
			}
		})
		for i := 0; i < n; i++ {
			select {
			case <-rec.ch:
			case <-time.After(10 * time.Second):
				t.Fatalf("only %d of %d dials ended", i, n)
			}
		}
		time.Sleep(200 * time.Millisecond)
		if rec.closes.Load() != n {
			t.Fatalf("opens %d closes %d", rec.opens.Load(), rec.closes.Load())
		}
		reactortest.WaitUntil(t, 5*time.Second, "NumConns 0", func() bool { return s.NumConns() == 0 && live.NumConns() == 0 })
		s.Close()
		reactortest.WaitUntil(t, 5*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
	})
}

// Server Close while dials hang: each OnClose exactly once, no fd left.
func TestDialEdgeServerCloseInFlight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		hang := fullBacklog(t)
		before := reactortest.CountFDs()
		s := oneLoop(t, b)
		rec := newDialRec()
		l := s.Loops()[0]
		const n = 100
		onLoopDo(t, l, func() {
			for i := 0; i < n; i++ {
				c, err := l.Dial("tcp", hang, rec.h())
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					c.Write([]byte("queued before connect"))
				}
			}
		})
		if got := s.NumConns(); got != n {
			t.Fatalf("NumConns %d, want %d", got, n)
		}
		ctx, cancel := contextWithTimeout(300 * time.Millisecond)
		err := s.Shutdown(ctx)
		cancel()
		t.Logf("Shutdown: %v", err)
		s.Close()
		time.Sleep(100 * time.Millisecond)
		if rec.closes.Load() != n || rec.opens.Load() != 0 {
			t.Fatalf("opens %d closes %d, want 0 and %d", rec.opens.Load(), rec.closes.Load(), n)
		}
		for _, err := range rec.errs {
			if !errors.Is(err, ErrServerClosed) {
				t.Fatalf("OnClose(%v)", err)
			}
		}
		reactortest.WaitUntil(t, 5*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
	})
}

// 1,000 concurrent dials from one loop to an echo server: all connect,
// echo, and close.
func TestDialEdge1000(t *testing.T) {
	reactortest.RaiseNoFile(t, 8192)
	forEachBackend(t, func(t *testing.T, b Backend) {
		live := start(t, b, echoHandler(), WithLoops(1))
		before := reactortest.CountFDs()
		s := oneLoop(t, b)
		defer s.Close()
		l := s.Loops()[0]
		const n = 1000
		var got, opens, closes atomic.Int32
		errc := make(chan error, n)
		onLoopDo(t, l, func() {
			for i := 0; i < n; i++ {
				c, err := l.Dial("tcp", live.Addr().String(), HandlerFuncs{
					Open: func(c *Conn) { opens.Add(1) },
					Data: func(c *Conn, d []byte) int {
						if len(d) < 5 {
							return 0
						}
						if string(d[:5]) != "hello" {
							errc <- errors.New("bad echo " + string(d))
						}
						got.Add(1)
						c.Close()
						return len(d)
					},
					Close: func(c *Conn, err error) {
						closes.Add(1)
						if err != nil {
							errc <- err
						}
					},
				})
				if err != nil {
					errc <- err
					return
				}
				c.Write([]byte("hello"))
			}
		})
		reactortest.WaitUntil(t, 30*time.Second, "all closed", func() bool { return closes.Load() == n || len(errc) > 0 })
		select {
		case err := <-errc:
			t.Fatalf("%v (opens %d echoes %d closes %d)", err, opens.Load(), got.Load(), closes.Load())
		default:
		}
		if got.Load() != n || opens.Load() != n {
			t.Fatalf("opens %d echoes %d", opens.Load(), got.Load())
		}
		reactortest.WaitUntil(t, 10*time.Second, "NumConns 0", func() bool { return s.NumConns() == 0 && live.NumConns() == 0 })
		s.Close()
		reactortest.WaitUntil(t, 10*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
	})
}

// Dial unix and tcp6 ::1.
func TestDialEdgeUnixAndV6(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		dir := t.TempDir()
		path := filepath.Join(dir, "s")
		us, err := Listen("unix", path, echoHandler(), legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		us.Start()
		defer us.Close()
		targets := [][2]string{{"unix", path}}
		if v6, err := Listen("tcp6", "[::1]:0", echoHandler(), legBackend(b), WithLoops(1), WithLogger(quietLogger())); err == nil {
			v6.Start()
			defer v6.Close()
			targets = append(targets, [2]string{"tcp6", v6.Addr().String()}, [2]string{"tcp", v6.Addr().String()})
		} else {
			t.Logf("no ::1: %v", err)
		}
		s := oneLoop(t, b)
		defer s.Close()
		l := s.Loops()[0]
		for _, tg := range targets {
			res := make(chan string, 4)
			var cc *Conn
			onLoopDo(t, l, func() {
				c, err := l.Dial(tg[0], tg[1], HandlerFuncs{
					Open: func(c *Conn) {
						res <- "open " + addrStr(c.LocalAddr()) + " " + addrStr(c.RemoteAddr())
					},
					Data: func(c *Conn, d []byte) int {
						if len(d) < 4 {
							return 0
						}
						res <- "data " + string(d)
						return len(d)
					},
					Close: func(c *Conn, err error) { res <- "close " + errStr(err) },
				})
				if err != nil {
					res <- "dial " + err.Error()
					return
				}
				cc = c
				c.Write([]byte("ping"))
			})
			for i := 0; i < 2; i++ {
				select {
				case r := <-res:
					t.Logf("%s %s: %s", tg[0], tg[1], r)
					if r[:4] == "dial" || r[:5] == "close" {
						t.Fatalf("%s %s: %s", tg[0], tg[1], r)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: timeout", tg[0])
				}
			}
			onLoopDo(t, l, func() { cc.Close() })
			select {
			case r := <-res:
				if r != "close <nil>" {
					t.Fatalf("%s: %s", tg[0], r)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no close")
			}
		}
		reactortest.WaitUntil(t, 5*time.Second, "NumConns 0", func() bool { return s.NumConns() == 0 })
	})
}

func addrStr(a net.Addr) string {
	if a == nil {
		return "<nil>"
	}
	return a.Network() + ":" + a.String()
}

func errStr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

var _ = os.Getpid

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// fullUnixBacklog returns a unix listener path whose backlog is full.
func fullUnixBacklog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "full")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	unix.Listen(fd, 0)
	var fillers []int
	for i := 0; i < 4; i++ {
		cfd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		err := unix.Connect(cfd, &unix.SockaddrUnix{Name: path})
		fillers = append(fillers, cfd)
		if err == unix.EAGAIN {
			break
		}
	}
	t.Cleanup(func() {
		for _, f := range fillers {
			unix.Close(f)
		}
		unix.Close(fd)
	})
	return path
}

func TestDialEdgeUnixFullBacklog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := fullUnixBacklog(t)
		before := reactortest.CountFDs()
		var logs logBuf
		s := oneLoop(t, b, WithLogger(slogTo(&logs)))
		rec := newDialRec()
		l := s.Loops()[0]
		const n = 6
		onLoopDo(t, l, func() {
			for i := 0; i < n; i++ {
				c, err := l.Dial("unix", path, rec.h())
				if err != nil {
					t.Error(err)
					return
				}
				switch i % 3 {
				case 0:
					c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				case 1:
					c.Close()
				}
			}
		})
		time.Sleep(500 * time.Millisecond)
		rec.mu.Lock()
		t.Logf("after 500ms: opens %d closes %d errs %v", rec.opens.Load(), rec.closes.Load(), rec.errs)
		rec.mu.Unlock()
		closeWithin(t, s, time.Second)
		if rec.closes.Load() != n {
			t.Fatalf("closes %d want %d", rec.closes.Load(), n)
		}
		reactortest.WaitUntil(t, 5*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
	})
}

// A dial to a unix listener whose backlog is full, then Close (or a
// deadline): the conn is released (its fd closed) while the server runs on,
// and the server's Close does not wait for it.
func TestDialEdgeUnixFullBacklogRelease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := fullUnixBacklog(t)
		var logs logBuf
		s := oneLoop(t, b, WithLogger(slogTo(&logs)))
		defer s.Close()
		rec := newDialRec()
		l := s.Loops()[0]
		before := reactortest.CountFDs()
		slots := func() int { return loopConns(l) }
		onLoopDo(t, l, func() {
			c, err := l.Dial("unix", path, rec.h())
			if err != nil {
				t.Error(err)
				return
			}
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		})
		select {
		case err := <-rec.ch:
			t.Logf("OnClose(%v)", err)
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
		end := time.Now().Add(3 * time.Second)
		for (slots() != 0 || reactortest.CountFDs() > before) && time.Now().Before(end) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := slots(); n != 0 {
			t.Errorf("3 s after OnClose: %d conns still hold their slot (fds %d, before the dial %d)", n, reactortest.CountFDs(), before)
		}
		closeWithin(t, s, time.Second)
	})
}

func TestDialEdgeUnixFullBacklogLateClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := fullUnixBacklog(t)
		var logs logBuf
		s := oneLoop(t, b, WithLogger(slogTo(&logs)))
		defer s.Close()
		rec := newDialRec()
		l := s.Loops()[0]
		slots := func() int { return loopConns(l) }
		var cs []*Conn
		onLoopDo(t, l, func() {
			for i := 0; i < 3; i++ {
				c, err := l.Dial("unix", path, rec.h())
				if err != nil {
					t.Error(err)
					return
				}
				cs = append(cs, c)
			}
		})
		time.Sleep(500 * time.Millisecond)
		t.Logf("after 500 ms: closes %d slots %d", rec.closes.Load(), slots())
		if rec.closes.Load() != 0 {
			return // epoll: EAGAIN at once
		}
		onLoopDo(t, l, func() {
			for _, c := range cs {
				c.Close()
			}
		})
		end := time.Now().Add(3 * time.Second)
		for slots() != 0 && time.Now().Before(end) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := slots(); n != 0 {
			t.Errorf("3 s after Close: %d conns still hold their slot", n)
		}
		closeWithin(t, s, time.Second)
	})
}

func TestDialEdgeUnixFullBacklogServerClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := fullUnixBacklog(t)
		var logs logBuf
		before := reactortest.CountFDs()
		s := oneLoop(t, b, WithLogger(slogTo(&logs)))
		rec := newDialRec()
		l := s.Loops()[0]
		onLoopDo(t, l, func() {
			for i := 0; i < 2; i++ {
				if _, err := l.Dial("unix", path, rec.h()); err != nil {
					t.Error(err)
					return
				}
			}
		})
		time.Sleep(300 * time.Millisecond)
		closeWithin(t, s, time.Second)
		if rec.closes.Load() != 2 {
			t.Errorf("closes %d", rec.closes.Load())
		}
		reactortest.WaitUntil(t, 5*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
	})
}

// loopConns returns how many conns hold a slot on l, read on the loop.
func loopConns(l *Loop) int {
	ch := make(chan int, 1)
	l.Execute(func() { ch <- l.nconns })
	return <-ch
}
