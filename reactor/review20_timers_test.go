//go:build linux

package reactor

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// runTimers documents that a timer a callback arms due now (an AfterFunc(0)
// chain that yields to I/O) runs in the next iteration. With other timers
// pending (say, conns' idle timers), the chain ran as many steps in one
// iteration as the heap held, never yielding to I/O.
func TestReview20AfterFuncZeroChainYieldsWithTimersPending(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithLoops(1))
		l := s.Loops()[0]
		const steps = 20
		var seen []int64
		done := make(chan struct{})
		var step func()
		step = func() {
			seen = append(seen, l.Now().UnixNano())
			if len(seen) == steps {
				close(done)
				return
			}
			l.AfterFunc(0, step)
		}
		l.Execute(func() {
			for range 1000 {
				l.AfterFunc(time.Hour, func() {}) // pending, like conns' idle timers
			}
			l.AfterFunc(0, step)
		})
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("chain did not finish")
		}
		same := 0
		for i := 1; i < len(seen); i++ {
			if seen[i] == seen[i-1] {
				same++
			}
		}
		if same > 0 {
			t.Fatalf("%d of %d AfterFunc(0) steps ran in the same iteration as the step that armed them", same, steps-1)
		}
	})
}

// Many timers armed, stopped and re-armed from timer callbacks: each one not
// stopped runs once, in deadline order, never before its deadline.
func TestReview20ManyTimersRandomStop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithLoops(1))
		l := s.Loops()[0]
		const n = 5000
		type rec struct {
			tm      *Timer
			due     time.Time
			fired   int
			stopped bool
			at      time.Time
		}
		recs := make([]*rec, 0, 2*n)
		var order []*rec
		seed := uint64(12345)
		rnd := func(k int) int {
			seed = seed*6364136223846793005 + 1442695040888963407
			return int((seed >> 33) % uint64(k))
		}
		done := make(chan struct{})
		pending := 0
		var arm func()
		arm = func() {
			d := time.Duration(rnd(200)) * time.Millisecond / 4
			r := &rec{due: l.Now().Add(d)}
			pending++
			r.tm = l.AfterFunc(d, func() {
				r.fired++
				r.at = time.Now()
				order = append(order, r)
				pending--
				// stop a random other pending timer, arm a new one sometimes
				if k := rnd(len(recs)); !recs[k].stopped && recs[k].fired == 0 {
					if recs[k].tm.Stop() {
						recs[k].stopped = true
						pending--
					}
				}
				if len(recs) < 2*n && rnd(2) == 0 {
					arm()
				}
				if pending == 0 {
					close(done)
				}
			})
			recs = append(recs, r)
		}
		l.Execute(func() {
			for range n {
				arm()
			}
		})
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("timers did not all run")
		}
		ch := make(chan struct{})
		l.Execute(func() {
			defer close(ch)
			for i, r := range recs {
				if r.stopped && r.fired != 0 || !r.stopped && r.fired != 1 {
					t.Errorf("timer %d: stopped %v fired %d", i, r.stopped, r.fired)
				}
				if r.fired == 1 && r.at.Before(r.due.Add(-time.Millisecond)) {
					t.Errorf("timer %d fired %v early", i, r.due.Sub(r.at))
				}
			}
		})
		<-ch
	})
}

type deadlineResult struct {
	err error
	at  time.Duration
}

// runDeadlineConn starts a server with h (open/data given), dials it, runs client,
// and returns how the server's conn closed (or times out after limit).
func runDeadlineConn(t *testing.T, b Backend, open func(*Conn), data func(*Conn, []byte) int, client func(*net.TCPConn), limit time.Duration, opts ...Option) (deadlineResult, bool) {
	t.Helper()
	t0 := time.Now()
	closed := make(chan deadlineResult, 1)
	h := HandlerFuncs{Open: open, Data: data, Close: func(c *Conn, err error) {
		closed <- deadlineResult{err, time.Since(t0)}
	}}
	s := start(t, b, h, append([]Option{WithLoops(1)}, opts...)...)
	c := dial(t, s)
	if client != nil {
		go client(c)
	}
	select {
	case r := <-closed:
		return r, true
	case <-time.After(limit):
		return deadlineResult{}, false
	}
}

func TestReview20DeadlineMoves(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		t.Run("later", func(t *testing.T) {
			r, ok := runDeadlineConn(t, b, func(c *Conn) { c.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) },
				func(c *Conn, d []byte) int { c.SetReadDeadline(time.Now().Add(500 * time.Millisecond)); return len(d) },
				func(c *net.TCPConn) { time.Sleep(30 * time.Millisecond); c.Write([]byte("x")) }, 3*time.Second)
			if !ok || !errors.Is(r.err, ErrDeadline) || r.at < 450*time.Millisecond {
				t.Fatalf("closed %v %v at %v", ok, r.err, r.at)
			}
		})
		t.Run("earlier", func(t *testing.T) {
			r, ok := runDeadlineConn(t, b, func(c *Conn) { c.SetReadDeadline(time.Now().Add(time.Hour)) },
				func(c *Conn, d []byte) int { c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); return len(d) },
				func(c *net.TCPConn) { c.Write([]byte("x")) }, 3*time.Second)
			if !ok || !errors.Is(r.err, ErrDeadline) {
				t.Fatalf("closed %v %v at %v", ok, r.err, r.at)
			}
		})
		t.Run("clear-then-idle", func(t *testing.T) {
			r, ok := runDeadlineConn(t, b, func(c *Conn) { c.SetReadDeadline(time.Now().Add(2 * time.Second)) },
				func(c *Conn, d []byte) int {
					c.SetReadDeadline(time.Time{})
					c.SetIdleTimeout(50 * time.Millisecond)
					return len(d)
				},
				func(c *net.TCPConn) { c.Write([]byte("x")) }, 10*time.Second)
			if !ok || !errors.Is(r.err, ErrIdleTimeout) || r.at > 5*time.Second {
				t.Fatalf("closed %v %v at %v", ok, r.err, r.at)
			}
		})
		t.Run("past", func(t *testing.T) {
			r, ok := runDeadlineConn(t, b, nil,
				func(c *Conn, d []byte) int { c.SetReadDeadline(time.Now().Add(-time.Hour)); return len(d) },
				func(c *net.TCPConn) { c.Write([]byte("x")) }, 3*time.Second)
			if !ok || !errors.Is(r.err, ErrDeadline) || r.at > 5*time.Second {
				t.Fatalf("closed %v %v at %v", ok, r.err, r.at)
			}
		})
		t.Run("write-cleared-while-blocked", func(t *testing.T) {
			r, ok := runDeadlineConn(t, b, func(c *Conn) {
				c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				c.Write(make([]byte, 8<<20))
				c.Loop().AfterFunc(50*time.Millisecond, func() { c.SetWriteDeadline(time.Time{}) })
			}, nil, nil, 700*time.Millisecond)
			if ok {
				t.Fatalf("closed %v at %v", r.err, r.at)
			}
		})
		t.Run("hw-paused-read-deadline", func(t *testing.T) {
			r, ok := runDeadlineConn(t, b, func(c *Conn) {
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			}, func(c *Conn, d []byte) int {
				c.Write(make([]byte, 1<<20)) // peer does not read: paused
				return len(d)
			}, func(c *net.TCPConn) {
				buf := make([]byte, 64<<10)
				for i := 0; i < 200; i++ {
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}, 3*time.Second, WithWriteWaterMarks(64<<10, 16<<10))
			if !ok || !errors.Is(r.err, ErrDeadline) {
				t.Fatalf("closed %v %v at %v", ok, r.err, r.at)
			}
		})
	})
}

// SetWriteDeadline: "closes c with ErrDeadline ... when output is queued
// after t has passed". Output queued from a timer callback after the
// deadline passed went out, and the conn stayed open.
func TestReview20WriteAfterPassedDeadlineFromTimer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		for _, how := range []string{"execute", "timer"} {
			t.Run(how, func(t *testing.T) {
				closed := make(chan error, 1)
				h := HandlerFuncs{
					Open: func(c *Conn) {
						c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
						c.Loop().AfterFunc(100*time.Millisecond, func() {
							write := func() { c.Write([]byte("late")) }
							if how == "timer" {
								c.Loop().AfterFunc(0, write)
							} else {
								c.Loop().Execute(write)
							}
						})
					},
					Close: func(c *Conn, err error) { closed <- err },
				}
				s := start(t, b, h, WithLoops(1))
				nc := dial(t, s)
				nc.SetReadDeadline(time.Now().Add(time.Second))
				buf := make([]byte, 16)
				n, rerr := nc.Read(buf)
				var cerr error
				select {
				case cerr = <-closed:
				case <-time.After(time.Second):
				}
				if !errors.Is(cerr, ErrDeadline) || n > 0 {
					t.Fatalf("peer read %q (%v); OnClose %v, want ErrDeadline and nothing sent", buf[:n], rerr, cerr)
				}
			})
		}
	})
}

// An idle timeout closed a conn whose peer was reading its output steadily:
// with the kernel's send buffer full, the reactor sends again only when a
// third of it is free, and a reader slower than that (a third of the buffer
// per idle period) made no "write activity" in the reactor's eyes. The
// output still queued was dropped: the peer got a truncated stream.
func TestReview20IdleTimeoutSteadySlowReader(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const total = 4 << 20
		closed := make(chan error, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				c.SetIdleTimeout(250 * time.Millisecond)
				c.Write(make([]byte, total))
				c.Close()
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s := start(t, b, h, WithLoops(1))
		nc := dial(t, s)
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 16<<10)
		got := 0
		for {
			time.Sleep(10 * time.Millisecond) // 1.6 MB/s, steadily
			n, err := io.ReadFull(nc, buf)
			got += n
			if err != nil {
				break
			}
		}
		cerr := <-closed
		if got != total || cerr != nil {
			t.Fatalf("peer got %d of %d bytes; OnClose %v", got, total, cerr)
		}
	})
}

// Control for the fix above: a peer that reads nothing is still closed.
func TestReview20IdleTimeoutStuckReaderClosed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		r, ok := runDeadlineConn(t, b, func(c *Conn) {
			c.SetIdleTimeout(100 * time.Millisecond)
			c.Write(make([]byte, 12<<20))
		}, nil, nil, 10*time.Second)
		if !ok || !errors.Is(r.err, ErrIdleTimeout) || r.at > 5*time.Second {
			t.Fatalf("closed %v %v at %v", ok, r.err, r.at)
		}
		t.Logf("closed after %v", r.at)
	})
}

// A read deadline set while reading must not cut a Close's output: a
// closing conn reads no more, and Close promises its queued output (only a
// write deadline or idle timeout ends that).
func TestReview20ReadDeadlineSparesClosingOutput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const total = 8 << 20
		closed := make(chan error, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				c.Write(make([]byte, total))
				c.Close()
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		s := start(t, b, h, WithLoops(1))
		nc := dial(t, s)
		time.Sleep(300 * time.Millisecond) // past the read deadline, output still queued
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		got, err := io.Copy(io.Discard, nc)
		var cerr error
		select {
		case cerr = <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnClose")
		}
		if got != total || cerr != nil {
			t.Fatalf("peer got %d of %d bytes (%v); OnClose %v", got, total, err, cerr)
		}
	})
}
