//go:build linux

package reactor

import (
	"io"
	"testing"
	"time"
)

// AsyncWrite documents "Writes from one goroutine keep their order". On the
// loop goroutine, an AsyncWrite followed by a Write (or Writev) from the same
// handler call must reach the peer in that order.
func TestLoopAsyncWriteThenWriteOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		for _, mode := range []string{"Write", "Writev"} {
			t.Run(mode, func(t *testing.T) {
				h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
					c.AsyncWrite([]byte("A"), nil)
					if mode == "Write" {
						c.Write([]byte("B"))
					} else {
						c.Writev([][]byte{[]byte("B")})
					}
					return len(d)
				}}
				s := start(t, b, h, WithLoops(1))
				cl := dial(t, s)
				cl.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := cl.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, 2)
				if _, err := io.ReadFull(cl, got); err != nil {
					t.Fatal(err)
				}
				if string(got) != "AB" {
					t.Fatalf("peer got %q, want \"AB\" (AsyncWrite then %s on the loop)", got, mode)
				}
			})
		}
	})
}
