package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

func countFDs() int {
	es, _ := os.ReadDir("/proc/self/fd")
	return len(es)
}

func waitFor(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !f() {
		if time.Now().After(end) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// spy wraps front to remember the client conns, so the test can look at the
// queues on the loop.
type spy struct {
	front
	mu    sync.Mutex
	conns []*reactor.Conn
}

func (s *spy) OnOpen(c *reactor.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	s.front.OnOpen(c)
}

func startSpy(t *testing.T, b reactor.Backend, to string) (*reactor.Server, *spy) {
	t.Helper()
	sp := &spy{front: front{to}}
	s, err := reactor.Listen("tcp", "127.0.0.1:0", sp, append(options(), reactor.WithBackend(b), reactor.WithLoops(1),
		reactor.WithLogger(quietLog()))...)
	if err != nil {
		t.Skipf("backend %s: %v", b, err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, sp
}

func quietLog() *slogLogger { return newQuiet() }

// queues returns front.Buffered, back.Buffered of the first pair.
func (s *spy) queues(t *testing.T) (int, int) {
	s.mu.Lock()
	c := s.conns[0]
	s.mu.Unlock()
	ch := make(chan [2]int, 1)
	c.Loop().Execute(func() {
		p := c.Context().(*pair)
		r := [2]int{p.front.Buffered(), -1}
		if p.back != nil {
			r[1] = p.back.Buffered()
		}
		ch <- r
	})
	select {
	case r := <-ch:
		return r[0], r[1]
	case <-time.After(5 * time.Second):
		t.Fatal("Execute")
		return 0, 0
	}
}

var backends = []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll}

// Slow client: the proxy's queue toward the client stays bounded and the
// upstream is paused.
func TestProxySlowClientBounded(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			var wrote atomic.Int64
			up := upstream(t, func(c net.Conn) {
				buf := make([]byte, 64<<10)
				c.SetWriteDeadline(time.Now().Add(3 * time.Second))
				for {
					n, err := c.Write(buf)
					wrote.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			s, sp := startSpy(t, b, up)
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.(*net.TCPConn).SetReadBuffer(64 << 10)
			maxF, maxB := 0, 0
			for i := 0; i < 20; i++ {
				time.Sleep(100 * time.Millisecond)
				sp.mu.Lock()
				n := len(sp.conns)
				sp.mu.Unlock()
				if n == 0 {
					continue
				}
				f, bk := sp.queues(t)
				maxF, maxB = max(maxF, f), max(maxB, bk)
			}
			t.Logf("upstream wrote %d MiB; max front queue %d KiB, back queue %d KiB", wrote.Load()>>20, maxF>>10, maxB>>10)
			if maxF > 2*pipeHigh {
				t.Fatalf("front queue reached %d bytes", maxF)
			}
			// Then the client reads: everything the upstream wrote arrives.
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			n, err := io.Copy(io.Discard, c)
			t.Logf("client read %d (upstream wrote %d) err %v", n, wrote.Load(), err)
			if n != wrote.Load() {
				t.Fatalf("client read %d, upstream wrote %d", n, wrote.Load())
			}
		})
	}
}

// Upstream half-closes first: the client sees its bytes then EOF, and can
// still send; the upstream gets all of it.
func TestProxyUpstreamHalfCloseFirst(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			got := make(chan []byte, 1)
			up := upstream(t, func(c net.Conn) {
				c.Write(pattern(3 << 20))
				c.(*net.TCPConn).CloseWrite()
				d, _ := io.ReadAll(c)
				got <- d
			})
			s, _ := startSpy(t, b, up)
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			d, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(d, pattern(3<<20)) {
				t.Fatalf("read %d bytes, %v", len(d), err)
			}
			req := pattern(5<<20 + 7)
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			c.(*net.TCPConn).CloseWrite()
			select {
			case u := <-got:
				if !bytes.Equal(u, req) {
					t.Fatalf("upstream got %d of %d bytes", len(u), len(req))
				}
			case <-time.After(20 * time.Second):
				t.Fatal("upstream got nothing")
			}
			waitFor(t, 5*time.Second, "pair closed", func() bool { return s.NumConns() == 0 })
		})
	}
}

// The upstream resets mid-transfer: the client must not see a clean EOF
// after part of the data.
func TestProxyUpstreamResetNotCleanEOF(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			up := upstream(t, func(c net.Conn) {
				c.Write(pattern(256 << 10))
				time.Sleep(100 * time.Millisecond)
				c.(*net.TCPConn).SetLinger(0) // RST
			})
			s, _ := startSpy(t, b, up)
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			d, err := io.ReadAll(c)
			t.Logf("client read %d bytes, err %v", len(d), err)
			if err == nil {
				t.Fatalf("upstream reset after %d bytes; the client saw a clean EOF", len(d))
			}
			waitFor(t, 5*time.Second, "pair closed", func() bool { return s.NumConns() == 0 })
		})
	}
}

// The client vanishes with output unread (and the upstream still sending):
// both sides close, nothing leaks.
func TestProxyClientVanishes(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			upDone := make(chan error, 8)
			up := upstream(t, func(c net.Conn) {
				buf := make([]byte, 64<<10)
				c.SetDeadline(time.Now().Add(8 * time.Second))
				for {
					if _, err := c.Write(buf); err != nil {
						upDone <- err
						return
					}
				}
			})
			s, _ := startSpy(t, b, up)
			before := countFDs()
			for i := 0; i < 4; i++ {
				c, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				c.Write([]byte("hello"))
				buf := make([]byte, 1000)
				c.Read(buf)
				time.Sleep(300 * time.Millisecond)
				if i%2 == 0 {
					c.(*net.TCPConn).SetLinger(0)
				}
				c.Close() // unread data: RST
			}
			for i := 0; i < 4; i++ {
				select {
				case err := <-upDone:
					if errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("upstream %d never saw the close (write deadline)", i)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("upstream %d still writing", i)
				}
			}
			waitFor(t, 5*time.Second, "pairs closed", func() bool { return s.NumConns() == 0 })
			waitFor(t, 5*time.Second, "fds back", func() bool { return countFDs() <= before })
		})
	}
}

// The client resets mid-upload: the upstream must not see a clean EOF after
// part of the request (it would take a truncated upload for a whole one).
func TestProxyClientResetNotCleanEOF(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			type res struct {
				n   int
				err error
			}
			got := make(chan res, 1)
			up := upstream(t, func(c net.Conn) {
				d, err := io.ReadAll(c) // until the client's EOF, as TestProxyHalfClose's upstream
				got <- res{len(d), err}
			})
			s, _ := startSpy(t, b, up)
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c.Write(pattern(100 << 10)) // part of a request
			time.Sleep(200 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0)
			c.Close() // the client aborts: RST
			select {
			case r := <-got:
				t.Logf("upstream read %d bytes, err %v", r.n, r.err)
				if r.err == nil {
					t.Fatalf("client reset after %d bytes; the upstream saw a clean EOF", r.n)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("upstream never saw the end")
			}
			waitFor(t, 5*time.Second, "pair closed", func() bool { return s.NumConns() == 0 })
		})
	}
}

// Both directions at once with slow readers on both ends, then half-closes:
// every byte arrives, in order, then EOF, on both sides.
func TestProxyBothWaysSlowHalfClose(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			up2client := pattern(6 << 20)
			client2up := append(pattern(5<<20+3), 'x')
			tail := []byte("after-your-EOF")
			upGot := make(chan []byte, 1)
			up := upstream(t, func(c net.Conn) {
				done := make(chan struct{})
				go func() {
					defer close(done)
					c.Write(up2client)
				}()
				var got []byte
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
					time.Sleep(time.Millisecond) // slow reader
				}
				<-done
				c.Write(tail)
				upGot <- got
			})
			s, _ := startSpy(t, b, up)
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			werr := make(chan error, 1)
			go func() {
				_, err := c.Write(client2up)
				if err == nil {
					err = c.(*net.TCPConn).CloseWrite()
				}
				werr <- err
			}()
			var got []byte
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read after %d: %v", len(got), err)
				}
				time.Sleep(time.Millisecond)
			}
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			want := append(append([]byte(nil), up2client...), tail...)
			if !bytes.Equal(got, want) {
				t.Fatalf("client got %d bytes, want %d", len(got), len(want))
			}
			if u := <-upGot; !bytes.Equal(u, client2up) {
				t.Fatalf("upstream got %d bytes, want %d", len(u), len(client2up))
			}
			waitFor(t, 5*time.Second, "pair closed", func() bool { return s.NumConns() == 0 })
		})
	}
}
