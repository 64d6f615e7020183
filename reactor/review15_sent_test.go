//go:build linux

package reactor

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Review (session 15): after a send completed in full with more output
// queued, Buffered counted the sent buffer again until the next flush: on
// io_uring, OnData then ran above the high-water mark, and AsyncWrite's done
// callbacks registered in that window waited for bytes that never came.

// forEachGen runs f on io_uring under each kernel generation's mask.
func forEachGen(t *testing.T, f func(t *testing.T)) {
	if err := uringAvailable(); err != nil {
		t.Skip(err)
	}
	for _, g := range kernelGenerations {
		t.Run(g.name, func(t *testing.T) {
			testHookFeatureMask = g.mask
			t.Cleanup(func() { testHookFeatureMask = 0 })
			f(t)
		})
	}
}

// Buffered() must not count bytes already sent: between a send's completion
// that leaves more output queued and the next flush, it counted the sent
// buffer again (sendOff reset, sendBuf length kept). A conn not paused at the
// high-water mark then reports more than the mark queued.
func TestBufferedAfterFullSend(t *testing.T) {
	forEachGen(t, func(t *testing.T) {
		const high, low = 64 << 10, 16 << 10
		var mu sync.Mutex
		var bad string
		s := start(t, BackendUring, HandlerFuncs{
			Open: func(c *Conn) { unix.SetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 32<<10) },
			Data: func(c *Conn, d []byte) int {
				if n := c.Buffered(); n > high && !c.hwPaused {
					mu.Lock()
					if bad == "" {
						q := c.bufs
						bad = fmt.Sprintf("OnData: Buffered() = %d above the mark %d, not paused (out %d, sendBuf %d, sendOff %d, sendBusy %v)",
							n, high, len(q.out), len(q.sendBuf), q.sendOff, c.sendBusy)
					}
					mu.Unlock()
				}
				c.Write(d)
				return len(d)
			}}, WithWriteWaterMarks(high, low), WithBufferRing(4096, 16))
		c := dial(t, s)
		c.SetReadBuffer(256 << 10)
		data := pattern(4<<20, 5)
		go c.Write(data)
		got := make([]byte, 0, len(data))
		buf := make([]byte, 8<<10)
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		for i := 0; len(got) < len(data); i++ {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
			if i%4 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		s.Close()
		mu.Lock()
		defer mu.Unlock()
		if bad != "" {
			t.Fatal(bad)
		}
	})
}

// AsyncWrite's done callbacks must all run (nil error) once their bytes are
// sent, while the conn stays open.
func TestAsyncWriteDonesAllFire(t *testing.T) {
	forEachGen(t, func(t *testing.T) {
		for round := range 5 {
			conns := make(chan *Conn, 1)
			s := start(t, BackendUring, HandlerFuncs{Open: func(c *Conn) { conns <- c }}, WithLoops(1))
			nc := dial(t, s)
			c := awaitConn(t, conns, "no OnOpen")
			const chunks, size = 400, 24 << 10
			total := chunks * size
			go func() { // the reader
				buf := make([]byte, 64<<10)
				nc.SetReadDeadline(time.Now().Add(30 * time.Second))
				for n := 0; n < total; {
					k, err := nc.Read(buf)
					if err != nil {
						return
					}
					n += k
				}
			}()
			var fired, failed atomic.Int32
			for i := 0; i < chunks; {
				err := c.AsyncWrite(make([]byte, size), func(err error) {
					if err != nil {
						failed.Add(1)
					}
					fired.Add(1)
				})
				if errors.Is(err, ErrQueueFull) {
					time.Sleep(50 * time.Microsecond)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				i++
			}
			deadline := time.Now().Add(5 * time.Second)
			for fired.Load() < chunks && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := fired.Load(); n < chunks || failed.Load() > 0 {
				t.Fatalf("round %d: %d of %d done callbacks ran (%d with an error) 5 s after the last AsyncWrite, conn open", round, n, chunks, failed.Load())
			}
			s.Close()
		}
	})
}
