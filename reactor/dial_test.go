//go:build linux

package reactor

import (
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// proxyHandler forwards each accepted conn to target through a conn dialed
// on the same loop.
func proxyHandler(target string) Handler {
	return HandlerFuncs{
		Open: func(front *Conn) {
			back, err := front.Loop().Dial("tcp", target, HandlerFuncs{
				Data: func(back *Conn, d []byte) int {
					front.Write(d)
					return len(d)
				},
				Close: func(back *Conn, err error) { front.Close() },
			})
			if err != nil {
				front.Close()
				return
			}
			front.SetContext(back)
		},
		Data: func(front *Conn, d []byte) int {
			front.Context().(*Conn).Write(d) // queued until connected
			return len(d)
		},
		Close: func(front *Conn, err error) {
			if back, ok := front.Context().(*Conn); ok {
				back.Close()
			}
		},
	}
}

func TestDialProxy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		backend := start(t, b, echoHandler())
		proxy := start(t, b, proxyHandler(backend.Addr().String()))
		c := dial(t, proxy)
		for i, n := range []int{1, 1000, 1 << 20, 8 << 20} {
			echoRoundTrip(t, c, pattern(n, byte(i)))
		}
		c.Close()
		reactortest.WaitUntil(t, 10*time.Second, "both sides closed", func() bool {
			return proxy.NumConns() == 0 && backend.NumConns() == 0
		})
	})
}

func TestDialRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close() // nobody listens there
		s, err := NewServer(echoHandler(), legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rec := newCloseRecorder()
		opened := make(chan struct{}, 1)
		s.Loops()[0].Execute(func() {
			_, err := s.Loops()[0].Dial("tcp", addr, HandlerFuncs{
				Open:  func(*Conn) { opened <- struct{}{} },
				Close: rec.record,
			})
			if err != nil {
				rec.record(nil, err)
			}
		})
		if err := rec.next(t); !errors.Is(err, unix.ECONNREFUSED) {
			t.Fatalf("Dial to a closed port: OnClose(%v), want ECONNREFUSED", err)
		}
		select {
		case <-opened:
			t.Fatal("OnOpen ran for a refused dial")
		default:
		}
		reactortest.WaitUntil(t, 5*time.Second, "conn count", func() bool { return s.NumConns() == 0 })
		// Misuse returns errors.
		errc := make(chan error, 2)
		s.Loops()[0].Execute(func() {
			_, err := s.Loops()[0].Dial("udp", addr, echoHandler())
			errc <- err
			_, err = s.Loops()[0].Dial("tcp", addr, nil)
			errc <- err
		})
		if err := <-errc; err == nil {
			t.Fatal("Dial udp accepted")
		}
		if err := <-errc; err == nil {
			t.Fatal("Dial with nil handler accepted")
		}
	})
}

func TestDialOffLoopIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithLoops(1))
		if _, err := s.Loops()[0].Dial("tcp", s.Addr().String(), echoHandler()); !errors.Is(err, ErrNotLoop) {
			t.Fatalf("Dial from a test goroutine: %v, want ErrNotLoop", err)
		}
	})
}
