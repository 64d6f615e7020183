//go:build linux

package reactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// Dial("tcp6", ":port") must reach the IPv6 loopback, as net.Dial does: the
// empty host of a tcp6 address is ::1, not 127.0.0.1 over IPv4.
func TestReview20DialTCP6EmptyHost(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		ln, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skipf("no ::1: %v", err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("hi"))
				c.Close()
			}
		}()
		port := ln.Addr().(*net.TCPAddr).Port
		addr := fmt.Sprintf(":%d", port)
		// package net reaches it
		nc, err := net.DialTimeout("tcp6", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("net.Dial tcp6 %s: %v", addr, err)
		}
		nc.Close()
		s := oneLoop(t, b)
		defer s.Close()
		l := s.Loops()[0]
		res := make(chan string, 4)
		onLoopDo(t, l, func() {
			_, err := l.Dial("tcp6", addr, HandlerFuncs{
				Open:  func(c *Conn) { res <- "open " + c.RemoteAddr().String() },
				Close: func(c *Conn, err error) { res <- "close " + errStr(err) },
			})
			if err != nil {
				res <- "dial " + err.Error()
			}
		})
		select {
		case r := <-res:
			if r[:4] != "open" {
				t.Fatalf("Dial(tcp6, %q): %s (net.Dial connects to [::1]:%d)", addr, r, port)
			}
			t.Log(r)
		case <-time.After(5 * time.Second):
			t.Fatal("timeout")
		}
	})
}

// A Dial made during a Shutdown on a loop that has already drained (no conns
// of its own left while another loop still waits for a busy conn) is
// accepted, and its conn, busy, is then cut by Shutdown's final Close with
// ErrServerClosed while Shutdown reports a clean drain (nil). Dial's doc: during
// a Shutdown it still dials and the drain closes the new conn when idle.
func TestReview20DialOnDrainedLoopRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		up := upstream(t, func(c net.Conn) { go io.Copy(io.Discard, c) }).Addr().String()
		s, err := NewServer(echoHandler(), legBackend(b), WithLoops(2), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		la, lb := s.Loops()[0], s.Loops()[1]
		// Loop B: a busy dialed conn keeps B (and so Shutdown) draining.
		var bc *Conn
		bOpen := make(chan struct{})
		onLoopDo(t, lb, func() {
			c, err := lb.Dial("tcp4", up, HandlerFuncs{Open: func(*Conn) { close(bOpen) }})
			if err != nil {
				t.Error(err)
				return
			}
			c.SetBusy(true)
			bc = c
		})
		select {
		case <-bOpen:
		case <-time.After(5 * time.Second):
			t.Fatal("B's dial did not open")
		}
		shut := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			shut <- s.Shutdown(ctx)
		}()
		select {
		case <-la.drainCh:
		case <-time.After(5 * time.Second):
			t.Fatal("loop A did not drain")
		}
		// Loop A (drained) dials: a busy conn with a transfer under way.
		aClose := make(chan error, 1)
		var dialErr error
		onLoopDo(t, la, func() {
			c, err := la.Dial("tcp4", up, HandlerFuncs{
				Open:  func(c *Conn) { c.Write(make([]byte, 1024)) },
				Close: func(c *Conn, err error) { aClose <- err },
			})
			dialErr = err
			if err == nil {
				c.SetBusy(true)
			}
		})
		if dialErr != nil && !errors.Is(dialErr, ErrLoopClosed) {
			t.Fatalf("Dial on the drained loop: %v, want ErrLoopClosed", dialErr)
		}
		time.Sleep(100 * time.Millisecond)
		// B's conn becomes idle: B drains and Shutdown finishes.
		onLoopDo(t, lb, func() { bc.SetBusy(false) })
		var serr error
		select {
		case serr = <-shut:
		case <-time.After(15 * time.Second):
			t.Fatal("Shutdown did not return")
		}
		if dialErr == nil {
			select {
			case err := <-aClose:
				if serr == nil && err != nil {
					t.Fatalf("Shutdown returned nil (a clean drain) but cut the busy conn dialed on the drained loop with %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no OnClose for A's conn")
			}
		}
	})
}

func TestReview20DialFailMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		dir := t.TempDir()
		// a closed tcp4 and tcp6 port
		ln4, _ := net.Listen("tcp4", "127.0.0.1:0")
		p4 := ln4.Addr().String()
		ln4.Close()
		p6 := ""
		if ln6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
			p6 = ln6.Addr().String()
			ln6.Close()
		}
		reg := dir + "/regular"
		os.WriteFile(reg, []byte("x"), 0o600)
		targets := [][3]string{
			{"tcp4", p4, "connection refused"},
			{"tcp", p4, "connection refused"},
			{"unix", dir + "/nope", "no such file or directory"},
			{"unix", "@review20-nope-" + fmt.Sprint(os.Getpid()), "connection refused"},
			{"unix", reg, "connection refused"},
			{"unix", dir, "connection refused"},
		}
		if p6 != "" {
			targets = append(targets, [3]string{"tcp6", p6, "connection refused"})
		}
		before := reactortest.CountFDs()
		s := oneLoop(t, b)
		defer s.Close()
		l := s.Loops()[0]
		for _, tg := range targets {
			var opens, closes atomic.Int32
			inDial := false
			nested := false
			ch := make(chan error, 4)
			onLoopDo(t, l, func() {
				inDial = true
				_, err := l.Dial(tg[0], tg[1], HandlerFuncs{
					Open: func(*Conn) { opens.Add(1) },
					Close: func(c *Conn, err error) {
						if inDial {
							nested = true
						}
						closes.Add(1)
						ch <- err
					},
				})
				inDial = false
				if err != nil {
					ch <- fmt.Errorf("dial: %w", err)
				}
			})
			select {
			case err := <-ch:
				if err == nil || err.Error() != tg[2] {
					t.Errorf("%s %s: OnClose(%v), want %q", tg[0], tg[1], err, tg[2])
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s %s: no OnClose", tg[0], tg[1])
			}
			time.Sleep(20 * time.Millisecond)
			if opens.Load() != 0 || closes.Load() != 1 || nested {
				t.Errorf("%s %s: opens %d closes %d nested %v", tg[0], tg[1], opens.Load(), closes.Load(), nested)
			}
		}
		reactortest.WaitUntil(t, 5*time.Second, "NumConns 0", func() bool { return s.NumConns() == 0 })
		s.Close()
		reactortest.WaitUntil(t, 5*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
	})
}
