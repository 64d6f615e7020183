//go:build linux

package reactor

import (
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Peer resets while 10 MiB are queued: OnClose gets an error, AsyncWrite
// callbacks all run (with an error), no panic.
func TestReview19ResetWhileQueued(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		closed := make(chan error, 1)
		var dones, derrs atomic.Int64
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				c.Write(pattern(10<<20, 1))
				for i := 0; i < 100; i++ {
					c.NotifySent(i*1000, func(err error) {
						dones.Add(1)
						if err != nil {
							derrs.Add(1)
						}
					})
				}
				opened <- c
			},
			Close: func(c *Conn, err error) { closed <- err },
		}
		_, cl, _ := startOpened(t, b, h, opened)
		buf := make([]byte, 1000)
		io.ReadFull(cl, buf)
		time.Sleep(20 * time.Millisecond)
		resetAndWaitClose(t, cl, closed)
		if dones.Load() != 100 {
			t.Fatalf("%d of 100 callbacks ran", dones.Load())
		}
	})
}

// AsyncWrite from many goroutines, with small water marks and a slow reader:
// each goroutine's bytes arrive in its order (framed), none lost.
func TestReview19AsyncWriteManyGoroutines(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) { opened <- c }}
		s := start(t, b, h, WithLoops(1), WithWriteWaterMarks(8<<10, 2<<10), WithAsyncWriteLimit(64<<10))
		cl := dial(t, s)
		c := awaitConn(t, opened, "no open")
		const G, N = 8, 2000
		var wg sync.WaitGroup
		var full atomic.Int64
		var quit atomic.Bool
		defer wg.Wait()
		defer quit.Store(true)
		for g := 0; g < G; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < N; i++ {
					// frame: g, seq(2 bytes), len, payload
					n := 1 + (i*7+g)%256
					f := make([]byte, 4+n)
					f[0], f[1], f[2] = byte(g), byte(i), byte(i>>8)
					f[3] = byte(n - 1)
					copy(f[4:], pattern(n, byte(g+i)))
					for {
						progress := make(chan struct{}, 1)
						err := c.AsyncWrite(f, func(error) { progress <- struct{}{} })
						if err == nil {
							break
						}
						if !errors.Is(err, ErrQueueFull) || quit.Load() {
							return
						}
						full.Add(1)
						time.Sleep(50 * time.Microsecond)
					}
				}
			}(g)
		}
		cl.SetDeadline(time.Now().Add(60 * time.Second))
		next := make([]int, G)
		hdr := make([]byte, 4)
		total := 0
		for total < G*N {
			if _, err := io.ReadFull(cl, hdr); err != nil {
				t.Fatalf("after %d frames: %v", total, err)
			}
			g, seq, n := int(hdr[0]), int(hdr[1])|int(hdr[2])<<8, int(hdr[3])+1
			p := make([]byte, n)
			if _, err := io.ReadFull(cl, p); err != nil {
				t.Fatal(err)
			}
			if g >= G || seq != next[g] {
				t.Fatalf("frame g=%d seq=%d, want seq %d", g, seq, next[g%G])
			}
			if sha256.Sum256(p) != sha256.Sum256(pattern(n, byte(g+seq))) {
				t.Fatalf("frame g=%d seq=%d corrupt", g, seq)
			}
			next[g]++
			total++
			if total%500 == 0 {
				runtime.Gosched()
				time.Sleep(time.Millisecond)
			}
		}
		wg.Wait()
		t.Logf("queue full %d times", full.Load())
		_ = net.IPv4len
	})
}

// resetAndWaitClose resets the client side of a conn and waits for the
// server's OnClose (sent on closed), which must carry an error; then it lets
// the loop finish the teardown.
func resetAndWaitClose(t *testing.T, cl *net.TCPConn, closed <-chan error) {
	t.Helper()
	cl.SetLinger(0)
	cl.Close()
	select {
	case err := <-closed:
		if err == nil {
			t.Fatal("OnClose nil after reset")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnClose after reset")
	}
	time.Sleep(50 * time.Millisecond)
}
