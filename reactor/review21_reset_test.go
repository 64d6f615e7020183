package reactor

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// Reset ends a conn with an RST: the peer's reads fail with ECONNRESET instead of ending with a
// clean EOF after the output, also when output was queued or partly sent, and OnClose runs once.
func TestReview21ConnReset(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		closed := make(chan error, 4)
		big := make([]byte, 1<<20)
		s := start(t, b, HandlerFuncs{
			Data: func(c *Conn, in []byte) int {
				c.Write(big) // part goes out at once; the rest is queued, then dropped
				if err := c.Reset(); err != nil {
					t.Errorf("Reset: %v", err)
				}
				if err := c.Reset(); !errors.Is(err, ErrClosed) && err != nil {
					t.Errorf("second Reset: %v", err)
				}
				return len(in)
			},
			Close: func(c *Conn, err error) { closed <- err },
		})
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("go"))
		n, err := io.Copy(io.Discard, c)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read %d bytes, then %v; want ECONNRESET", n, err)
		}
		select {
		case err := <-closed:
			if err == nil {
				t.Fatalf("OnClose: nil error after Reset")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no OnClose")
		}
	})
}
