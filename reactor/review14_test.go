//go:build linux

package reactor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Loop lifecycle and cross-goroutine writes (session 14 review).

// CloseWithError called on the loop sends nothing more: queued output is
// dropped. On epoll the unsent rest of the current send buffer is user-space
// memory, and an EPOLLOUT handled before the abort task ran used to send it
// (all 8 MiB, to a peer reading through a 4 KiB buffer).
func TestCloseWithErrorOnLoopDropsUnsent(t *testing.T) {
	for _, parked := range []bool{false, true} {
		name := "epoll"
		if parked {
			name = "epoll-parked"
		}
		t.Run(name, func(t *testing.T) {
			bad := 0
			for attempt := 0; attempt < 5; attempt++ {
				if abortOnLoopOnce(t, parked) {
					bad++
				}
			}
			if bad > 0 {
				t.Fatalf("%d/5 attempts: peer received bytes beyond those handed to the kernel before CloseWithError", bad)
			}
		})
	}
}

func abortOnLoopOnce(t *testing.T, parked bool) bool {
	const total = 8 << 20
	data := pattern(total, 7)
	connCh := make(chan *Conn, 1)
	h := HandlerFuncs{
		Open: func(c *Conn) {
			c.Write(data)
			connCh <- c
		},
	}
	opts := []Option{WithBackend(BackendEpoll), WithLoops(1), WithLogger(quietLogger()), WithParkedLoops(parked)}
	s, err := Listen("tcp", "127.0.0.1:0", h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	cc, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	var sc *Conn
	select {
	case sc = <-connCh:
	case <-time.After(5 * time.Second):
		t.Fatal("no OnOpen")
	}
	time.Sleep(50 * time.Millisecond) // the server's send now waits for EPOLLOUT
	got := make(chan int64, 1)
	go func() {
		cc.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, _ := io.Copy(io.Discard, cc)
		got <- n
	}()
	time.Sleep(5 * time.Millisecond) // the client is reading: EPOLLOUT edges flow
	handed := make(chan int64, 1)
	sc.Loop().Execute(func() {
		handed <- int64(total - sc.Buffered())
		sc.CloseWithError(errors.New("abort"))
		// The callback takes a while (any slow callback would do): the client
		// reads meanwhile, so the socket is writable when the loop next waits.
		time.Sleep(50 * time.Millisecond)
	})
	h0 := <-handed
	n := <-got
	t.Logf("h0=%d n=%d", h0, n)
	if n > h0 {
		t.Logf("handed to the kernel before CloseWithError: %d, peer received %d (%d more)", h0, n, n-h0)
		return true
	}
	return false
}

// A func Execute'd before Start runs on loop 0 as soon as it serves and calls
// Close (allowed on a loop). When a later loop then fails to start, Start
// stops loop 0 and waits for it: it used to do so holding s.mu, which loop 0
// waited for in Close, a deadlock.
func TestStartFailWhileLoopCloses(t *testing.T) {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil { // warm the runtime's poller
		ln.Close()
	}
	s, err := NewServer(echoHandler(), WithBackend(BackendEpoll), WithLoops(2), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	if err := s.Loops()[0].Execute(func() { closed <- s.Close() }); err != nil {
		t.Fatal(err)
	}
	probe, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(probe)
	var old unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &old)
	lim := old
	lim.Cur = uint64(probe) + 1 // room for loop 0's epoll fd only
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	startErr := make(chan error, 1)
	go func() { startErr <- s.Start() }()
	select {
	case err := <-startErr:
		unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
		if err == nil {
			s.Close()
			t.Fatal("Start succeeded under an fd limit that leaves room for loop 0 only")
		}
		t.Logf("Start: %v", err)
	case <-time.After(5 * time.Second):
		unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
		t.Fatal("Start did not return within 5s: deadlocked with loop 0's Close")
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close on loop 0: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close on loop 0 did not return")
	}
	s.Close()
}

// Execute on a server not started yet returns nil (the func runs when the
// loop serves); Close without Start runs it (it was dropped, and a goroutine
// waiting for it waited for ever).
func TestExecuteBeforeStartThenClose(t *testing.T) {
	s, err := NewServer(echoHandler(), WithBackend(BackendEpoll), WithLoops(1), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{})
	if err := s.Loops()[0].Execute(func() { close(ran) }); err != nil {
		t.Fatalf("Execute before Start: %v", err)
	}
	s.Close()
	select {
	case <-ran:
	case <-time.After(2 * time.Second):
		t.Fatal("Execute returned nil, yet its func never ran: Close without Start dropped it")
	}
}

// AsyncWrite's bound counts output queued by the handler's own Write ("when
// output is already pending on c ... and b would take it over the limit,
// AsyncWrite returns ErrQueueFull"). It used to see that output only once an
// AsyncWrite had run: the first one onto MiBs of stuck output was taken.
func TestAsyncWriteBoundCountsLoopWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const limit = 64 << 10
		conns := make(chan *Conn, 1)
		s := start(t, b, HandlerFuncs{Open: func(c *Conn) {
			c.Write(pattern(16<<20, 3)) // the peer does not read: most of it stays queued
			conns <- c
		}}, WithAsyncWriteLimit(limit))
		c := dial(t, s)
		_ = c
		sc := <-conns
		time.Sleep(100 * time.Millisecond)
		q := make(chan int, 1)
		sc.Loop().Execute(func() { q <- sc.Buffered() })
		queued := <-q
		if queued <= limit {
			t.Fatalf("only %d bytes queued: the kernel took the rest", queued)
		}
		err := sc.AsyncWrite(make([]byte, limit), nil)
		if !errors.Is(err, ErrQueueFull) {
			t.Fatalf("AsyncWrite of %d bytes onto %d bytes of queued output (limit %d): %v, want ErrQueueFull", limit, queued, limit, err)
		}
	})
}

// When Close returns no fd or mapping of the server remains: checked at
// once, not polled, with conns open, one lingering and one dialed.
func TestNothingLeftWhenCloseReturns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
			ln.Close()
		}
		runtime.GC()
		before := snapshot()
		for round := 0; round < 3; round++ {
			s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{Data: func(c *Conn, d []byte) int {
				if string(d) == "close" {
					c.Write(make([]byte, 1<<20))
					c.Close() // lingers: the peer has not read
					return len(d)
				}
				c.Write(d)
				return len(d)
			}}, legBackend(b), WithLoops(2), WithLogger(quietLogger()), leakBufRing())
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			var cl []net.Conn
			for i := 0; i < 6; i++ {
				c, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				echoRoundTrip(t, c, []byte("hello"))
				cl = append(cl, c)
			}
			cl[0].Write([]byte("close"))
			dialed := make(chan error, 1)
			s.Loops()[1].Execute(func() {
				_, err := s.Loops()[1].Dial("tcp", s.Addr().String(), HandlerFuncs{})
				dialed <- err
			})
			if err := <-dialed; err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			s.Close()
			now := snapshot()
			if now.fds > before.fds+len(cl) || now.ringMaps > before.ringMaps || now.slabs > before.slabs {
				t.Fatalf("round %d: right after Close: %+v, before Listen %+v (+%d client fds)", round, now, before, len(cl))
			}
			for _, c := range cl {
				c.Close()
			}
		}
	})
}

// A timer due during a slow callback fires right after it. The loop used to
// compute its wait from the clock read before the callback ran, so it slept
// for time already passed: the timer fired late by the callback's length.
func TestTimerNotLateAfterSlowIteration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithLoops(1))
		l := s.Loops()[0]
		fired := make(chan time.Duration, 1)
		l.Execute(func() {
			armed := time.Now()
			l.AfterFunc(300*time.Millisecond, func() { fired <- time.Since(armed) - 300*time.Millisecond })
			time.Sleep(300 * time.Millisecond) // a slow callback
		})
		select {
		case late := <-fired:
			if late > 150*time.Millisecond { // 300 ms late before the fix; slack for a loaded machine
				t.Fatalf("timer fired %v late: the loop waited the whole delay again after the slow callback", late)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("timer never fired")
		}
	})
}

// A conn active in the same iteration as another conn's slow OnData is not
// closed as idle right after: the loop dates activity to the iteration's
// start, and the slow callback made that long ago. Conn b's input, read in one
// batch after a's 450 ms OnData, used to be closed with ErrIdleTimeout (150
// ms) at once after b's reply; and with a 250 ms OnData and a 300 ms idle
// timeout, a first fix still closed b 50 ms after its input when another
// iteration ran before b's timer was due (extra), replying or not.
func TestIdleTimeoutAfterSlowHandler(t *testing.T) {
	for _, tc := range []struct {
		name        string
		slow, idle  time.Duration
		reply, more bool
	}{
		{"slow-over-idle", 450 * time.Millisecond, 150 * time.Millisecond, true, false},
		{"next-iteration", 250 * time.Millisecond, 300 * time.Millisecond, true, true},
		{"next-iteration-no-reply", 250 * time.Millisecond, 300 * time.Millisecond, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b Backend) {
				var handled time.Time // b's input was handled (loop only, then read after b closed)
				hch := make(chan struct{}, 1)
				opened := make(chan *Conn, 2)
				closed := make(chan error, 2)
				h := HandlerFuncs{
					Open: func(c *Conn) { opened <- c },
					Data: func(c *Conn, d []byte) int {
						if string(d) == "slow" {
							time.Sleep(tc.slow)
							return len(d)
						}
						handled = time.Now()
						c.SetContext("b")
						if tc.reply {
							c.Write(d)
						} else {
							hch <- struct{}{}
						}
						return len(d)
					},
					Close: func(c *Conn, err error) {
						if c.Context() == "b" {
							closed <- err
						}
					},
				}
				s := start(t, b, h, WithLoops(1), WithIdleTimeout(tc.idle))
				l := s.Loops()[0]
				ca := dial(t, s)
				<-opened
				cb := dial(t, s)
				<-opened
				// Hold the loop so that both inputs arrive in one batch, a's first.
				gate := make(chan struct{})
				l.Execute(func() { <-gate })
				time.Sleep(10 * time.Millisecond)
				ca.Write([]byte("slow"))
				time.Sleep(5 * time.Millisecond)
				cb.Write([]byte("ping"))
				time.Sleep(10 * time.Millisecond)
				close(gate)
				if tc.reply {
					cb.SetReadDeadline(time.Now().Add(5 * time.Second))
					got := make([]byte, 4)
					if _, err := io.ReadFull(cb, got); err != nil {
						t.Fatalf("b: %v", err)
					}
				} else {
					<-hch
				}
				if tc.more {
					l.Execute(func() {}) // another iteration before b's timer is due
				}
				var err error
				select {
				case err = <-closed:
				case <-time.After(5 * time.Second):
					t.Fatal("b never closed")
				}
				if quiet := time.Since(handled); quiet < tc.idle-15*time.Millisecond {
					t.Fatalf("b closed with %v only %v after its input was handled (idle timeout %v)", err, quiet.Round(time.Millisecond), tc.idle)
				}
			})
		})
	}
}

// An accepted unix conn whose client bound an abstract address reports it as
// "@name", as package net does (it was "").
func TestUnixAbstractPeerAddr(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		srvName := fmt.Sprintf("@ringo-srv-%d-%d", os.Getpid(), time.Now().UnixNano())
		cliName := fmt.Sprintf("@ringo-cli-%d-%d", os.Getpid(), time.Now().UnixNano())
		got := make(chan string, 1)
		h := HandlerFuncs{Open: func(c *Conn) { got <- fmt.Sprint(c.RemoteAddr()) }}
		s, err := Listen("unix", srvName, h, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := net.DialUnix("unix", &net.UnixAddr{Name: cliName, Net: "unix"}, &net.UnixAddr{Name: srvName, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		select {
		case a := <-got:
			if a != cliName {
				t.Fatalf("RemoteAddr %q, want %q", a, cliName)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no OnOpen")
		}
	})
}

// The peer sends 430 KiB and resets the connection (SO_LINGER 0) while the
// handler has reading paused (after 240 KiB, resumed 50 ms later, the rest
// queued in the socket). Once reading resumes, the queued bytes and then the
// reset reach the conn: OnClose runs with the reset error. On io_uring with
// capped multishot recvs (CapRecvLimit), the re-armed recv read the queued
// bytes and never reported the reset (a kernel wake-up race): the conn stayed
// open, OnClose never ran, until Server.Close.
func TestResetWhilePausedClosesConn(t *testing.T) {
	const total, at = 430 << 10, 240 << 10
	forEachBackend(t, func(t *testing.T, b Backend) {
		for range 3 {
			before := snapshot()
			closed := make(chan error, 1)
			pausedCh := make(chan struct{})
			seen, paused := 0, false
			s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{
				Data: func(c *Conn, d []byte) int {
					if paused {
						return len(d)
					}
					n := len(d)
					if seen+n >= at {
						paused = true
						close(pausedCh)
						n = at - seen
						c.PauseReading()
						c.Loop().AfterFunc(50*time.Millisecond, c.ResumeReading)
					}
					seen += n
					return n
				},
				Close: func(c *Conn, err error) { closed <- err },
			}, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			nc, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c := nc.(*net.TCPConn)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(make([]byte, total)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-pausedCh: // the server accepted the conn and paused
			case <-time.After(5 * time.Second):
				t.Fatal("the handler did not pause")
			}
			c.SetLinger(0)
			c.Close() // RST
			select {
			case err := <-closed:
				if !isReset(err) {
					t.Errorf("OnClose(%v), want a reset", err)
				}
			case <-time.After(3 * time.Second):
				t.Errorf("OnClose not called 3 s after the peer's reset (NumConns %d)", s.NumConns())
			}
			s.Close()
			chNoLeaks(t, before)
			if t.Failed() {
				return
			}
		}
	})
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// chNoLeaks is checkNoLeaks without the slab count (this test uses no
// leakBufRing; the Go heap can map 1.5 MiB too).
func chNoLeaks(t testing.TB, before resources) {
	t.Helper()
	before.slabs = 1 << 30
	checkNoLeaks(t, before)
}

// The handler takes the whole request, pauses reading and answers 20 ms later
// from Execute; the client half-closes right after its request. A paused conn
// sees the EOF only when reading resumes, on every backend: io_uring, whose
// recv could complete the FIN before the pause's cancel, closed the conn under
// the handler (the client read an empty reply) while epoll answered.
func TestEOFWhilePausedForAsyncAnswer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		for i := range 5 {
			s := start(t, b, HandlerFuncs{Data: func(c *Conn, d []byte) int {
				c.PauseReading()
				ans := append([]byte("re:"), d...)
				go func() {
					time.Sleep(20 * time.Millisecond)
					c.Loop().Execute(func() {
						c.Write(ans)
						c.ResumeReading()
					})
				}()
				return len(d)
			}})
			c := dial(t, s)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("ping"))
			c.CloseWrite()
			got, err := io.ReadAll(c)
			if string(got) != "re:ping" {
				t.Fatalf("round %d: got %q (%v), want %q", i, got, err, "re:ping")
			}
		}
	})
}

// NotifySent calls f "once no more than n bytes of the output
// queued on c now are left unsent ... or with the error that closes c if c closes first". After
// a graceful Close the queued output still goes out (the peer reads all of it here), so f must
// report nil once it drained, as it does when NotifySent was called before the Close; it got
// ErrClosed at once, with 4 MiB still to send.
func TestNotifySentWhileClosing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		type result struct {
			err      error
			buffered int
		}
		results := make(chan result, 2)
		const size = 4 << 20
		h := HandlerFuncs{Open: func(c *Conn) {
			syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
			c.Write(pattern(size, 1))
			c.Close()
			c.Loop().Execute(func() { // after the close task: the conn is closing, its output queued
				q := c.Buffered()
				c.NotifySent(0, func(err error) { results <- result{err, q} })
			})
		}}
		s := start(t, b, h)
		c := dial(t, s)
		defer c.Close()
		time.Sleep(100 * time.Millisecond)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if n != size || err != nil {
			t.Fatalf("peer read %d of %d bytes: %v", n, size, err)
		}
		var r result
		select {
		case r = <-results:
		case <-time.After(5 * time.Second):
			t.Fatal("no callback")
		}
		if r.err != nil {
			t.Fatalf("NotifySent(0) on a closing conn with %d bytes queued: %v, though all of them were then sent", r.buffered, r.err)
		}
	})
}
