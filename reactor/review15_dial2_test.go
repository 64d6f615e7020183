//go:build linux

package reactor

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"github.com/ringo-io/ringo/reactor/reactortest"
	"io"
	"net"
	"testing"
	"time"
)

// Dial, write 4 MiB and Close before the connect completes: the peer gets
// all of it then EOF.
func TestDialEdgeBigWriteThenClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		got := make(chan [32]byte, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			d, _ := io.ReadAll(c)
			got <- sha256.Sum256(d)
		}()
		s := oneLoop(t, b)
		defer s.Close()
		rec := newDialRec()
		l := s.Loops()[0]
		data := pattern(4<<20, 3)
		onLoopDo(t, l, func() {
			c, err := l.Dial("tcp", ln.Addr().String(), rec.h())
			if err != nil {
				t.Error(err)
				return
			}
			c.Write(data)
			c.Close()
		})
		select {
		case h := <-got:
			if h != sha256.Sum256(data) {
				t.Fatal("peer got different bytes")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("timeout")
		}
		if err := <-rec.ch; err != nil {
			t.Fatalf("OnClose(%v)", err)
		}
	})
}

// CloseWrite before the connect completes: the peer reads EOF, answers, and
// the answer reaches the dialed conn.
func TestDialEdgeCloseWriteBeforeConnect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			d, _ := io.ReadAll(c)
			c.Write(append([]byte("got:"), d...))
		}()
		s := oneLoop(t, b)
		defer s.Close()
		res := make(chan string, 10)
		l := s.Loops()[0]
		var buf bytes.Buffer
		onLoopDo(t, l, func() {
			c, err := l.Dial("tcp", ln.Addr().String(), HandlerFuncs{
				Data:  func(c *Conn, d []byte) int { buf.Write(d); return len(d) },
				Close: func(c *Conn, err error) { res <- buf.String() + " " + errStr(err) },
			})
			if err != nil {
				t.Error(err)
				return
			}
			c.Write([]byte("req"))
			if err := c.CloseWrite(); err != nil {
				t.Error(err)
			}
		})
		select {
		case r := <-res:
			if r != "got:req <nil>" {
				t.Fatalf("got %q", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("timeout")
		}
	})
}

// A loop dials its own listener: both ends on one loop.
func TestDialEdgeOwnListener(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithLoops(1))
		l := s.Loops()[0]
		res := make(chan string, 10)
		var buf bytes.Buffer
		data := pattern(3<<20, 9)
		onLoopDo(t, l, func() {
			c, err := l.Dial("tcp", s.Addr().String(), HandlerFuncs{
				Data: func(c *Conn, d []byte) int {
					buf.Write(d)
					if buf.Len() == len(data) {
						c.Close()
					}
					return len(d)
				},
				Close: func(c *Conn, err error) {
					ok := bytes.Equal(buf.Bytes(), data)
					res <- map[bool]string{true: "ok", false: "differs"}[ok] + " " + errStr(err)
				},
			})
			if err != nil {
				t.Error(err)
				return
			}
			c.Write(data)
		})
		select {
		case r := <-res:
			if r != "ok <nil>" {
				t.Fatalf("%s", r)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("timeout")
		}
	})
}

func TestDialEdge1000Unix(t *testing.T) {
	reactortestRaise(t)
	forEachBackend(t, func(t *testing.T, b Backend) {
		path := t.TempDir() + "/u"
		us, err := Listen("unix", path, echoHandler(), legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		us.Start()
		defer us.Close()
		s := oneLoop(t, b)
		defer s.Close()
		l := s.Loops()[0]
		const n = 1000
		rec := newDialRec()
		var echoed = make(chan struct{}, n)
		onLoopDo(t, l, func() {
			for i := 0; i < n; i++ {
				h := rec.h()
				h.Data = func(c *Conn, d []byte) int {
					echoed <- struct{}{}
					c.Close()
					return len(d)
				}
				c, err := l.Dial("unix", path, h)
				if err != nil {
					t.Error(err)
					return
				}
				c.Write([]byte("x"))
			}
		})
		for i := 0; i < n; i++ {
			select {
			case err := <-rec.ch:
				if err != nil {
					t.Fatalf("dial %d: OnClose(%v)", i, err)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("%d of %d closed, %d echoed", i, n, len(echoed))
			}
		}
		if len(echoed) != n {
			t.Fatalf("echoed %d", len(echoed))
		}
	})
}

func reactortestRaise(t *testing.T) { raiseNoFile(t, 8192) }

func TestDialEdgeIdleTimeoutWhileConnecting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		addr := fullBacklog(t)
		before := reactortest.CountFDs()
		s := oneLoop(t, b, WithIdleTimeout(150*time.Millisecond))
		rec := newDialRec()
		l := s.Loops()[0]
		var cc *Conn
		onLoopDo(t, l, func() {
			c, err := l.Dial("tcp", addr, rec.h())
			if err != nil {
				t.Error(err)
				return
			}
			cc = c
			c.Write([]byte("queued"))
			c.SetWriteDeadline(time.Now().Add(time.Hour))
		})
		_ = cc
		select {
		case err := <-rec.ch:
			if !errors.Is(err, ErrIdleTimeout) {
				t.Fatalf("OnClose(%v)", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("idle timeout did not end the dial")
		}
		s.Close()
		reactortest.WaitUntil(t, 5*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
	})
}
