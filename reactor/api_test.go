//go:build linux

package reactor

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnAddrsContextWritev(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		type info struct{ local, remote string }
		infos := make(chan info, 1)
		s := start(t, b, HandlerFuncs{
			Open: func(c *Conn) {
				infos <- info{c.LocalAddr().String(), c.RemoteAddr().String()}
				c.SetContext(7)
			},
			Data: func(c *Conn, d []byte) int {
				n := c.Context().(int)
				c.SetContext(n + 1)
				c.Writev([][]byte{[]byte("<"), d, nil, []byte(">")})
				return len(d)
			},
		})
		c := dial(t, s)
		in := <-infos
		if in.local != s.Addr().String() || in.remote != c.LocalAddr().String() {
			t.Fatalf("server conn addrs local=%s remote=%s, want %s and %s", in.local, in.remote, s.Addr(), c.LocalAddr())
		}
		c.Write([]byte("ab"))
		got := make([]byte, 4)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "<ab>" {
			t.Fatalf("Writev: %q %v", got, err)
		}
	})
}

func TestPerConnIdleTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rec := newCloseRecorder()
		s := start(t, b, HandlerFuncs{
			Open:  func(c *Conn) { c.SetIdleTimeout(20 * time.Millisecond) },
			Close: rec.record,
		})
		dial(t, s)
		if err := rec.next(t); !errors.Is(err, ErrIdleTimeout) {
			t.Fatalf("OnClose(%v), want ErrIdleTimeout", err)
		}
	})
}

func TestIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	forEachBackend(t, func(t *testing.T, b Backend) {
		s, err := Listen("tcp6", "[::1]:0", echoHandler(), legBackend(b), WithLoops(2), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp6", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		echoRoundTrip(t, c, pattern(70<<10, 4))
	})
}

func TestHandlerMisuseAndInputLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rec := newCloseRecorder()
		var calls atomic.Int64 // conns may be on different loops
		s := start(t, b, HandlerFuncs{
			Data: func(c *Conn, d []byte) int {
				n := calls.Add(1)
				if d[0] == 'h' { // hoard: never consume
					return 0
				}
				c.Write(d)
				if n%2 == 0 {
					return len(d) + 100 // over-report: treated as all
				}
				return -5 // negative: treated as none, presented again
			},
			Close: rec.record,
		}, WithMaxPendingInput(64<<10))
		c := dial(t, s)
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got := make([]byte, 1)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		hoarder := dial(t, s)
		go hoarder.Write(append([]byte("h"), pattern(256<<10, 1)...))
		if err := rec.next(t); !errors.Is(err, ErrInputOverflow) {
			t.Fatalf("OnClose(%v), want ErrInputOverflow", err)
		}
	})
}

// TestPausedInputNotLimited is the regression test for input kept while
// reading was paused being counted against WithMaxPendingInput (it closed
// proxied conns under load): only what a handler leaves unconsumed counts.
func TestPausedInputNotLimited(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rec := newCloseRecorder()
		s := start(t, b, HandlerFuncs{
			Data: func(c *Conn, d []byte) int {
				c.Write(d)
				c.PauseReading() // after every delivery, for a while
				c.Loop().AfterFunc(2*time.Millisecond, c.ResumeReading)
				return len(d)
			},
			Close: rec.record,
		}, WithMaxPendingInput(8<<10), WithBufferRing(16<<10, 64))
		c := dial(t, s)
		echoRoundTrip(t, c, pattern(2<<20, 3))
		select {
		case err := <-rec.ch:
			t.Fatalf("conn closed: %v", err)
		default:
		}
	})
}
