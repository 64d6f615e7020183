//go:build linux

package reactor

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

// More than 2 GiB queued on one conn (Writev of one 64 MiB buffer 36 times,
// 2.25 GiB): every byte must arrive, in order (the send offset was an int32:
// the loop panicked).
func TestReview19QueueOver2GiB(t *testing.T) {
	if os.Getenv("RINGO_HUGE") == "" {
		t.Skip("queues 2.25 GiB (about 20 GB of memory under -race): runs with RINGO_HUGE=1, in make test's serial step")
	}
	forEachBackend(t, func(t *testing.T, b Backend) {
		src := pattern(64<<20, 7)
		const reps = 36
		h := HandlerFuncs{Open: func(c *Conn) {
			bs := make([][]byte, reps)
			for i := range bs {
				bs[i] = src
			}
			c.Writev(bs)
			c.Close()
		}}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		cl.SetDeadline(time.Now().Add(120 * time.Second))
		buf := make([]byte, 1<<20)
		off := 0
		for {
			n, err := cl.Read(buf)
			for i := 0; i < n; {
				p := off % len(src)
				k := min(n-i, len(src)-p)
				if !bytes.Equal(buf[i:i+k], src[p:p+k]) {
					t.Fatalf("bytes differ at offset %d", off)
				}
				i += k
				off += k
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("after %d bytes: %v", off, err)
			}
		}
		if off != reps*len(src) {
			t.Fatalf("got %d bytes, want %d", off, reps*len(src))
		}
	})
}
