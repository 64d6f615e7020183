//go:build linux

package reactor

import (
	"runtime"
	"testing"
	"time"
)

// A peer that resets while 128 MiB are queued: OnClose gets an error and the
// queued memory is released.
func TestReview19ResetReleasesMemory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		closed := make(chan error, 1)
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				big := make([]byte, 64<<20)
				c.Write(big)
				c.Write(big[:1000])
				c.Write(big)
				opened <- c
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		_, cl, _ := startOpened(t, b, h, opened)
		time.Sleep(50 * time.Millisecond)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		resetAndWaitClose(t, cl, closed)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc+100<<20 > before {
			t.Fatalf("heap %d MiB after the close, %d MiB before: queued output not released", ms.HeapAlloc>>20, before>>20)
		}
	})
}
