//go:build linux

package reactor

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

// switchProto answers the line "SWITCH\n" with "OK\n" and hands the conn to
// echo, which writes back what it gets in upper case, closes at the peer's
// EOF, and reports its close on closed. Before the switch it consumes only
// whole lines (it is line-based), so the bytes behind the switch line are
// the new protocol's.
type switchProto struct {
	closed chan error
}

func (p switchProto) OnOpen(*Conn) {}

func (p switchProto) OnData(c *Conn, d []byte) int {
	i := bytes.IndexByte(d, '\n')
	if i < 0 {
		return 0
	}
	if string(d[:i]) != "SWITCH" {
		c.Close()
		return len(d)
	}
	c.Write([]byte("OK\n"))
	c.SetHandler(upperEcho(p))
	return i + 1
}

func (p switchProto) OnClose(c *Conn, err error) { p.closed <- errors.New("old handler's OnClose ran") }

type upperEcho switchProto

func (u upperEcho) OnOpen(*Conn) {}

func (u upperEcho) OnData(c *Conn, d []byte) int {
	c.Write(bytes.ToUpper(d))
	return len(d)
}

func (u upperEcho) OnReadEOF(c *Conn) { c.Close() }

func (u upperEcho) OnClose(c *Conn, err error) { u.closed <- err }

// TestSetHandler: the bytes behind the switch, sent in the same packet, reach
// the new handler at once (the client waits for them before sending more);
// later input, the EOF and the close go to it too.
func TestSetHandler(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		p := switchProto{closed: make(chan error, 1)}
		s := start(t, b, p)
		c := dial(t, s)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Write([]byte("SWITCH\nbehind the switch")); err != nil {
			t.Fatal(err)
		}
		want := "OK\nBEHIND THE SWITCH"
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
		big := bytes.Repeat([]byte("abcdefgh"), 256<<10) // 2 MiB
		go func() {
			c.Write(big)
			c.CloseWrite()
		}()
		echo, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(echo, bytes.ToUpper(big)) {
			t.Fatalf("echo: %d bytes, %v", len(echo), err)
		}
		select {
		case err := <-p.closed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no OnClose")
		}
	})
}

// recorder records what OnData is shown and consumes nothing.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) OnOpen(*Conn) {}
func (r *recorder) OnData(c *Conn, d []byte) int {
	r.mu.Lock()
	r.calls = append(r.calls, string(d))
	r.mu.Unlock()
	return 0
}
func (r *recorder) OnClose(*Conn, error) {}

// switchOnOpen hands every conn to rec in OnOpen.
type switchOnOpen struct{ rec *recorder }

func (s switchOnOpen) OnOpen(c *Conn)               { c.SetHandler(s.rec) }
func (s switchOnOpen) OnData(c *Conn, d []byte) int { return len(d) }
func (s switchOnOpen) OnClose(*Conn, error)         {}

// TestSetHandlerOutsideOnData: a switch made outside OnData shows the new handler its input
// once (a review found it shown twice: the switch was taken for one made during that call).
func TestSetHandlerOutsideOnData(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		rec := &recorder{}
		s := start(t, b, switchOnOpen{rec})
		c := dial(t, s)
		time.Sleep(50 * time.Millisecond)
		c.Write([]byte("ab"))
		time.Sleep(100 * time.Millisecond)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.calls) != 1 || rec.calls[0] != "ab" {
			t.Fatalf("OnData calls: %q, want one of \"ab\"", rec.calls)
		}
	})
}
