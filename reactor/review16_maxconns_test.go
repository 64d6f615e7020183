//go:build linux

package reactor

import (
	"net"
	"testing"
	"time"
)

// WithMaxConns: "a connection accepted while n are open (accepted or
// dialed) is closed at once". A dialed conn is not refused (Dial has no
// admission) but counts: with the limit 1 and one dialed conn open, an
// accepted one is refused.
func TestMaxConnsCountsDialed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		ext, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ext.Close()
		go func() {
			for {
				c, err := ext.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		opened := make(chan *Conn, 4)
		s := start(t, b, HandlerFuncs{Open: func(c *Conn) { opened <- c }}, WithLoops(1), WithMaxConns(1))
		dialed := make(chan error, 1)
		s.Loops()[0].Execute(func() {
			_, err := s.Loops()[0].Dial("tcp", ext.Addr().String(), HandlerFuncs{Open: func(c *Conn) { dialed <- nil }, Close: func(c *Conn, err error) { dialed <- err }})
			if err != nil {
				dialed <- err
			}
		})
		if err := <-dialed; err != nil {
			t.Fatal(err)
		}
		cl := dial(t, s)
		cl.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = cl.Read(make([]byte, 1))
		select {
		case <-opened:
			t.Errorf("accepted conn opened over the limit with a dialed conn open")
		default:
		}
		if err == nil || isTimeout(err) {
			t.Errorf("accepted conn over the limit not closed: %v", err)
		}
	})
}
