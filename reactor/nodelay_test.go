//go:build linux

package reactor

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAcceptedNoDelay: accepted TCP conns have TCP_NODELAY (inherited from
// the listener, not set per conn), as dialed ones do.
func TestAcceptedNoDelay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		ch := make(chan int, 1)
		s := start(t, b, HandlerFuncs{Open: func(c *Conn) {
			v, err := unix.GetsockoptInt(int(c.fd), unix.IPPROTO_TCP, unix.TCP_NODELAY)
			if err != nil {
				v = -1
			}
			ch <- v
		}})
		for i := 0; i < 3; i++ { // one conn per loop, likely
			c := dial(t, s)
			select {
			case v := <-ch:
				if v != 1 {
					t.Fatalf("accepted conn TCP_NODELAY = %d, want 1", v)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no OnOpen")
			}
			c.Close()
		}
	})
}
