//go:build linux

package reactor

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// Writes large enough to be sent at once (directWriteMin) keep their order
// with the writes around them: a large write after a queued small one
// waits for it, and a large write sent only in part (the socket is full:
// the client reads only later) has its rest queued ahead of what follows.
func TestDirectWritesKeepOrder(t *testing.T) {
	const big = directWriteMin + 4099
	for _, tc := range []struct {
		name   string
		sizes  []int
		direct int32 // writes sent (at least in part) at once
	}{
		{"small-first", []int{100, big, 100, 2 * big, big}, 0},
		{"partial", []int{4 << 20, 100, big, 100, 2 * big}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b Backend) {
				var want []byte
				var writes [][]byte
				for i, n := range tc.sizes {
					p := pattern(n, byte(i))
					writes = append(writes, p)
					want = append(want, p...)
				}
				var direct atomic.Int32
				h := HandlerFuncs{Open: func(c *Conn) {
					for _, p := range writes {
						before := c.Buffered()
						c.Write(p)
						if c.Buffered()-before < len(p) {
							direct.Add(1)
						}
					}
					c.Close()
				}}
				s := start(t, b, h)
				c := dial(t, s)
				time.Sleep(50 * time.Millisecond) // let the server fill the socket first
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				got, err := io.ReadAll(c)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					i := 0
					for i < len(got) && i < len(want) && got[i] == want[i] {
						i++
					}
					t.Fatalf("stream differs at byte %d of %d (got %d bytes)", i, len(want), len(got))
				}
				if n := direct.Load(); n != tc.direct {
					t.Fatalf("%d writes sent at once, want %d", n, tc.direct)
				}
			})
		})
	}
}
