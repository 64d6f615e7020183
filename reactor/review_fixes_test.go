//go:build linux

package reactor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// Found by a review helper (session 12); each failed before its fix.

// resumeExpectEcho resumes sc, whose peer c has sent "hello world\n" while
// sc's reading was paused (all of it queued at the server by then), and
// expects all of it back.
func resumeExpectEcho(t *testing.T, sc *Conn, c net.Conn) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	if err := sc.Loop().Execute(sc.ResumeReading); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	want := []byte("hello world\n")
	got := make([]byte, len(want))
	n, err := io.ReadFull(c, got)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo: got %q (%v), want %q", got[:n], err, want)
	}
}

// shutdownStarted starts s.Shutdown (5 s) and returns once l has seen the
// request; the channel gets Shutdown's result.
func shutdownStarted(s *Server, l *Loop) <-chan error {
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	for !l.drainReq.Load() {
		time.Sleep(time.Millisecond)
	}
	return shut
}

// startDialer starts a Server with one loop and no listener, for dialing
// from; it is closed at the end of the test (Close is idempotent).
func startDialer(t *testing.T, b Backend) *Server {
	t.Helper()
	s, err := NewServer(echoHandler(), legBackend(b), WithLoops(1), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A unix dial to a path nobody listens on must fail: OnClose with the
// connect error, and no OnOpen.
func TestDialFailsAtOnceNoOpen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := startDialer(t, b)
		rec := newCloseRecorder()
		var opened atomic.Bool
		l := s.Loops()[0]
		path := filepath.Join(t.TempDir(), "nobody.sock")
		l.Execute(func() {
			c, err := l.Dial("unix", path, HandlerFuncs{
				Open:  func(*Conn) { opened.Store(true) },
				Close: rec.record,
			})
			if err != nil {
				rec.record(nil, err)
				return
			}
			c.Write([]byte("hello")) // queued until connected
		})
		err := rec.next(t)
		t.Logf("OnOpen ran: %v; OnClose: %v", opened.Load(), err)
		if opened.Load() {
			t.Errorf("OnOpen ran for a dial to a missing unix socket")
		}
		if !errors.Is(err, unix.ENOENT) {
			t.Errorf("OnClose(%v), want ENOENT", err)
		}
	})
}

// A dial whose connect(2) fails at once (epoll: kept in b.fails until the
// next wait) and that is finished in the same iteration (here by a deadline
// already past) must not crash the loop.
func TestDialFailsAtOnceThenDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := startDialer(t, b)
		rec := newCloseRecorder()
		l := s.Loops()[0]
		path := filepath.Join(t.TempDir(), "nobody.sock") // does not exist: connect fails with ENOENT at once
		l.Execute(func() {
			c, err := l.Dial("unix", path, HandlerFuncs{Close: rec.record})
			if err != nil {
				rec.record(nil, err)
				return
			}
			c.SetReadDeadline(time.Now().Add(-time.Second)) // a dial timeout already expired
		})
		t.Logf("OnClose: %v", rec.next(t))
		// The loop must still serve.
		done := make(chan struct{})
		if err := l.Execute(func() { close(done) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("loop stopped serving")
		}
	})
}

// Dial to an abstract unix socket ("@name", as package net spells it).
func TestDialAbstractUnix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		name := fmt.Sprintf("@ringo-rev-%d-%d", os.Getpid(), time.Now().UnixNano())
		ln, err := net.Listen("unix", name)
		if err != nil {
			t.Skip(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Write([]byte("hi"))
				c.Close()
			}
		}()
		s := startDialer(t, b)
		rec := newCloseRecorder()
		l := s.Loops()[0]
		l.Execute(func() {
			if _, err := l.Dial("unix", name, HandlerFuncs{Close: rec.record}); err != nil {
				rec.record(nil, err)
			}
		})
		if err := rec.next(t); err != nil {
			t.Fatalf("Dial(unix, %q): OnClose(%v), want nil (peer's EOF)", name, err)
		}
	})
}

func TestDialUnixEcho(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := filepath.Join(t.TempDir(), "echo.sock")
		srv, err := Listen("unix", path, echoHandler(), legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		s := startDialer(t, b)
		l := s.Loops()[0]
		got := make(chan string, 1)
		rec := newCloseRecorder()
		l.Execute(func() {
			var buf []byte
			c, err := l.Dial("unix", path, HandlerFuncs{
				Data: func(c *Conn, d []byte) int {
					buf = append(buf, d...)
					if len(buf) >= 5 {
						got <- string(buf)
						c.Close()
					}
					return len(d)
				},
				Close: rec.record,
			})
			if err != nil {
				rec.record(nil, err)
				return
			}
			c.Write([]byte("hello"))
		})
		select {
		case g := <-got:
			if g != "hello" {
				t.Fatalf("got %q", g)
			}
		case err := <-rec.ch:
			// The handler sends on got and then closes: both may be ready
			// when this select runs, and select picks either.
			select {
			case g := <-got:
				if g != "hello" || err != nil {
					t.Fatalf("got %q, OnClose(%v)", g, err)
				}
				return
			default:
			}
			t.Fatalf("closed: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("timeout")
		}
		if err := rec.next(t); err != nil {
			t.Fatalf("OnClose(%v)", err)
		}
	})
}

// An AfterFunc(0) chain (a handler yielding to I/O between batches of work)
// must not starve the loop: tasks must still run.
func TestAfterFuncZeroChainYields(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := startDialer(t, b)
		l := s.Loops()[0]
		var stop atomic.Bool
		var steps atomic.Int64
		var step func()
		step = func() {
			steps.Add(1)
			if !stop.Load() {
				l.AfterFunc(0, step) // run again soon, after pending I/O and tasks
			}
		}
		l.Execute(func() { l.AfterFunc(0, step) })
		ran := make(chan struct{})
		time.Sleep(10 * time.Millisecond)
		l.Execute(func() { close(ran) })
		select {
		case <-ran:
			stop.Store(true)
		case <-time.After(2 * time.Second):
			stop.Store(true) // lets the chain end so the server can close
			t.Fatalf("Execute'd func did not run within 2s while an AfterFunc(0) chain ran (%d steps)", steps.Load())
		}
	})
}

// slowConnectTarget returns a 127.0.0.1 listener whose accept queue is full,
// so a new connect stays in progress (the SYN is dropped and retransmitted
// after about 1 s), and a func that empties the queue and then accepts.
func slowConnectTarget(t *testing.T) (addr string, lfd int, fillers []int) {
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
	for range 3 { // fill the accept queue (backlog 0 holds 1)
		cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
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
	return (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}).String(), fd, fillers
}

// Dial, Write, Close before the connect completed: Dial says writes before
// OnOpen are queued, Close says queued output is flushed before the FIN.
func TestCloseWhileConnectingSendsQueued(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		addr, lfd, _ := slowConnectTarget(t)
		s := startDialer(t, b)
		rec := newCloseRecorder()
		l := s.Loops()[0]
		msg := []byte("request-before-connect")
		l.Execute(func() {
			c, err := l.Dial("tcp", addr, HandlerFuncs{Close: rec.record})
			if err != nil {
				rec.record(nil, err)
				return
			}
			c.Write(msg)
			c.Close()
		})
		// Make room in the accept queue; the dial's SYN is retransmitted
		// after ~1 s and then connects, if its socket is still open.
		time.Sleep(20 * time.Millisecond)
		got := make(chan []byte, 1)
		go func() {
			var all []byte
			deadline := time.Now().Add(4 * time.Second)
			unix.SetNonblock(lfd, true)
			var open []int
			defer func() {
				for _, f := range open {
					unix.Close(f)
				}
			}()
			for time.Now().Before(deadline) {
				if nfd, _, err := unix.Accept(lfd); err == nil {
					unix.SetNonblock(nfd, true)
					open = append(open, nfd)
				}
				buf := make([]byte, 256)
				for _, f := range open {
					if n, err := unix.Read(f, buf); err == nil && n > 0 {
						all = append(all, buf[:n]...)
					}
				}
				if bytes.Contains(all, msg) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			got <- all
		}()
		err := rec.next(t)
		t.Logf("OnClose: %v", err)
		all := <-got
		if !bytes.Contains(all, msg) {
			t.Fatalf("peer received %q, want %q (OnClose err %v)", all, msg, err)
		}
		if err != nil {
			t.Fatalf("OnClose(%v), want nil for a graceful Close", err)
		}
	})
}

// Execute returned nil: f must run, or the caller waits forever.
func TestExecuteRunsAtClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := startDialer(t, b)
		l := s.Loops()[0]
		inFirst := make(chan struct{})
		release := make(chan struct{})
		l.Execute(func() { close(inFirst); <-release })
		<-inFirst
		ran := make(chan struct{})
		if err := l.Execute(func() { close(ran) }); err != nil {
			t.Fatalf("Execute: %v", err)
		}
		closed := make(chan struct{})
		go func() { s.Close(); close(closed) }()
		time.Sleep(20 * time.Millisecond)
		close(release)
		<-closed
		select {
		case <-ran:
		case <-time.After(time.Second):
			t.Fatal("Execute returned nil, yet its func never ran and the loop is gone")
		}
		_ = errors.New
	})
}

// A timer set far in the future (a "never" duration) must not fire now.
func TestAfterFuncHugeDuration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := startDialer(t, b)
		l := s.Loops()[0]
		fired := make(chan struct{}, 1)
		time.Sleep(5 * time.Millisecond) // the loop clock is past 0
		l.Execute(func() {
			l.AfterFunc(time.Duration(math.MaxInt64), func() { fired <- struct{}{} })
		})
		select {
		case <-fired:
			t.Fatal("AfterFunc(math.MaxInt64) fired at once")
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// An AsyncWrite that returned nil before Shutdown closed the conn is output
// Shutdown must deliver: here it is made (as from any goroutine) just as the
// loop starts draining, and closeIdle, which does not look at AsyncWrites
// still in the task queue, closes the conn as idle first.
func TestShutdownKeepsPendingAsyncWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		conns := make(chan *Conn, 1)
		s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{Open: func(c *Conn) { conns <- c }},
			legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		cl, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		c := <-conns
		l := s.Loops()[0]
		// Hold the loop inside a task so that the drain request and the
		// task below are seen in the same iteration.
		inA, releaseA := make(chan struct{}), make(chan struct{})
		l.Execute(func() { close(inA); <-releaseA })
		<-inA
		shut := shutdownStarted(s, l)
		doneErr := make(chan error, 1)
		accepted := make(chan error, 1)
		l.Execute(func() {
			// A response handed over with AsyncWrite (from a worker, here run
			// in the same iteration as the start of the drain).
			accepted <- c.AsyncWrite([]byte("response"), func(err error) { doneErr <- err })
		})
		close(releaseA)
		if err := <-accepted; err != nil {
			t.Fatalf("AsyncWrite: %v", err)
		}
		cl.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(cl)
		derr := <-doneErr
		t.Logf("client read %q; done(%v); Shutdown: %v", got, derr, <-shut)
		if string(got) != "response" {
			t.Fatalf("client got %q, want %q (AsyncWrite done: %v)", got, "response", derr)
		}
	})
}

// A client that connected and sent its request before Shutdown was called
// gets its answer: Shutdown closes idle conns, and a conn whose request is
// already in its socket is not idle. Here the accept and the drain are seen
// in the same loop iteration (the loop was busy for a moment), and the
// fresh conn is closed with its request unread.
func TestShutdownServesFreshConnRequest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{Data: func(c *Conn, d []byte) int {
			c.Write([]byte("answer"))
			c.Close()
			return len(d)
		}}, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		l := s.Loops()[0]
		inA, releaseA := make(chan struct{}), make(chan struct{})
		l.Execute(func() { close(inA); <-releaseA }) // the loop is busy
		<-inA
		cl, err := net.Dial("tcp", s.Addr().String()) // completed by the kernel
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if _, err := cl.Write([]byte("request")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the request is in the server's socket
		shut := shutdownStarted(s, l)
		close(releaseA)
		cl.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(cl)
		t.Logf("client read %q (%v); Shutdown: %v", got, err, <-shut)
		if string(got) != "answer" {
			t.Fatalf("request sent before Shutdown: got %q (%v), want %q", got, err, "answer")
		}
	})
}

// CloseWithError: "closes c at once: queued output is dropped". Called on the
// loop right after a Write, the write still goes out.
func TestCloseWithErrorOnLoopSendsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rec := newCloseRecorder()
		s := start(t, b, HandlerFuncs{
			Data: func(c *Conn, d []byte) int {
				c.Write([]byte("partial-response"))
				c.CloseWithError(errors.New("protocol error"))
				return len(d)
			},
			Close: rec.record,
		}, WithLoops(1))
		cl, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		cl.Write([]byte("req"))
		cl.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(cl)
		t.Logf("OnClose: %v; client got %q", rec.next(t), got)
		if len(got) > 0 {
			t.Fatalf("client received %q after CloseWithError dropped queued output", got)
		}
	})
}

// A peer's urgent byte (MSG_OOB) makes read(2) stop short at the urgent mark
// with more bytes queued behind it. epoll's read treats the short read as
// "queue empty" and drops the readiness: the bytes after the mark are never
// read (no new edge comes).
func TestEpollUrgentDataShortRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		conns := make(chan *Conn, 1)
		s := start(t, b, HandlerFuncs{
			Open: func(c *Conn) { c.PauseReading(); conns <- c },
			Data: func(c *Conn, d []byte) int { c.Write(d); return len(d) },
		}, WithLoops(1))
		c := dial(t, s)
		sc := <-conns
		rc, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		send := func(p []byte, flags int) {
			var serr error
			if err := rc.Write(func(fd uintptr) bool { serr = unix.Sendto(int(fd), p, flags, nil); return true }); err != nil || serr != nil {
				t.Fatal(err, serr)
			}
		}
		send([]byte("hello "), 0)
		send([]byte("!"), unix.MSG_OOB)
		send([]byte("world\n"), 0)
		resumeExpectEcho(t, sc, c)
	})
}

// On a unix socket a read stops after a message that carried descriptors
// (SCM_RIGHTS), with the bytes behind it still queued: the epoll backend's
// short-read shortcut drops the readiness and never reads them. The handler
// answers a whole line only (so no write of its own raises another edge).
func TestEpollUnixRightsShortRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := t.TempDir() + "/scm.sock"
		conns := make(chan *Conn, 1)
		s, err := Listen("unix", path, HandlerFuncs{
			Open: func(c *Conn) { c.PauseReading(); conns <- c },
			Data: func(c *Conn, d []byte) int {
				i := bytes.IndexByte(d, '\n')
				if i < 0 {
					return 0 // wait for the rest of the line
				}
				c.Write(d[:i+1])
				return i + 1
			},
		}, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		nc, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		c := nc.(*net.UnixConn)
		sc := <-conns
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, _, err := c.WriteMsgUnix([]byte("hello "), unix.UnixRights(int(f.Fd())), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("world\n")); err != nil {
			t.Fatal(err)
		}
		resumeExpectEcho(t, sc, c)
	})
}

// When a loop's backend cannot be created (EMFILE at epoll_create1), Start
// fails; the failing loop's own listener must be closed like the others.
func TestStartFailClosesListener(t *testing.T) {
	for _, parked := range []bool{false, true} {
		name := "locked"
		if parked {
			name = "parked"
		}
		t.Run(name, func(t *testing.T) {
			// Warm the runtime's poller so it needs no fd below.
			if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
				ln.Close()
			}
			before := reactortest.CountFDs()
			s, err := Listen("tcp", "127.0.0.1:0", echoHandler(), WithBackend(BackendEpoll),
				WithParkedLoops(parked), WithLoops(1), WithLogger(quietLogger()))
			if err != nil {
				t.Fatal(err)
			}
			addr := s.Addr().String()
			// No fd can be allocated from here: the lowest free one is the limit.
			probe, err := unix.Dup(0)
			if err != nil {
				t.Fatal(err)
			}
			unix.Close(probe)
			var old unix.Rlimit
			unix.Getrlimit(unix.RLIMIT_NOFILE, &old)
			lim := old
			lim.Cur = uint64(probe)
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
				t.Fatal(err)
			}
			serr := s.Start()
			unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
			if serr == nil {
				s.Close()
				t.Skip("Start succeeded under the fd limit")
			}
			t.Logf("Start: %v", serr)
			s.Close()
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Errorf("listener %s still accepts connections after Start failed and Close", addr)
			}
			if after := reactortest.CountFDs(); after > before {
				t.Errorf("fds: %d before Listen, %d after the failed Start and Close", before, after)
			}
		})
	}
}

// A dialed conn's local address is read from another goroutine while its
// connect completes: no data race (it was written into the published Conn),
// and it is there once OnOpen ran.
func TestDialLocalAddrFromOtherGoroutine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		srv := start(t, b, echoHandler(), WithLoops(1))
		s := startDialer(t, b)
		l := s.Loops()[0]
		for range 20 {
			cc := make(chan *Conn, 1)
			opened := make(chan struct{})
			l.Execute(func() {
				c, err := l.Dial("tcp", srv.Addr().String(), HandlerFuncs{Open: func(*Conn) { close(opened) }})
				if err != nil {
					t.Error(err)
					close(opened)
				}
				cc <- c
			})
			c := <-cc
			if c == nil {
				return
			}
			for {
				_ = c.LocalAddrPort()
				_ = c.LocalAddr()
				select {
				case <-opened:
				default:
					continue
				}
				break
			}
			if !c.LocalAddrPort().IsValid() {
				t.Fatal("no local address after OnOpen")
			}
			c.Close()
		}
	})
}

// A read deadline set right after Dial bounds the connect: a connect that
// stays in progress (its SYN dropped by a full accept queue) ends with
// ErrDeadline at the deadline, and OnOpen never runs.
func TestDialTimeoutByDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		addr, _, _ := slowConnectTarget(t)
		s := startDialer(t, b)
		rec := newCloseRecorder()
		var opened atomic.Bool
		l := s.Loops()[0]
		l.Execute(func() {
			c, err := l.Dial("tcp", addr, HandlerFuncs{
				Open:  func(*Conn) { opened.Store(true) },
				Close: rec.record,
			})
			if err != nil {
				rec.record(nil, err)
				return
			}
			c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		})
		// The accept queue stays full, so the connect cannot complete: only
		// the deadline can end it before the kernel gives up (minutes).
		if err := rec.next(t); !errors.Is(err, ErrDeadline) {
			t.Fatalf("OnClose(%v), want ErrDeadline", err)
		}
		if opened.Load() {
			t.Fatal("OnOpen ran for a dial that timed out while connecting")
		}
	})
}
