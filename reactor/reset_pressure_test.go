package reactor

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Conns that read bursts into a small buffer ring end their multishot recvs
// again and again (the bundle takes the ring's last buffers, or finds none:
// -ENOBUFS) and are re-armed. A reset that comes after data or between
// bursts must still reach OnClose on every conn of a handler that never
// writes (a write would fail and close the conn by itself).
func TestResetUnderBufferRingPressure(t *testing.T) {
	const conns, bursts, burst = 40, 12, 24 << 10
	forEachBackend(t, func(t *testing.T, b Backend) {
		before := snapshot()
		var mu sync.Mutex
		closed := map[*Conn]error{}
		var opened atomic.Int64
		s, err := Listen("tcp", "127.0.0.1:0", HandlerFuncs{
			Open: func(c *Conn) { opened.Add(1) },
			Data: func(c *Conn, d []byte) int { return len(d) },
			Close: func(c *Conn, err error) {
				mu.Lock()
				closed[c] = err
				mu.Unlock()
			},
		}, legBackend(b), WithLoops(1), WithBufferRing(4096, 16), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var wg sync.WaitGroup
		for i := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					t.Error(err)
					return
				}
				c := nc.(*net.TCPConn)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, burst)
				for j := range bursts {
					if _, err := c.Write(buf[:burst-(i*j)%burst]); err != nil {
						t.Error(err)
						return
					}
					time.Sleep(time.Duration(i%3) * time.Millisecond)
				}
				c.SetLinger(0)
				c.Close() // RST, sometimes with bytes still unread by the server
			}()
		}
		wg.Wait()
		// A conn reset before the server accepted it is dropped unopened (as
		// accept(2) drops it): every conn that was opened must be closed.
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			n := len(closed)
			mu.Unlock()
			if int64(n) == opened.Load() && s.NumConns() == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("5 s after the resets: %d conns opened, %d closed (NumConns %d)", opened.Load(), n, s.NumConns())
			}
			time.Sleep(5 * time.Millisecond)
		}
		mu.Lock()
		for _, err := range closed {
			if err != nil && !isReset(err) {
				t.Errorf("OnClose(%v), want a reset or nil", err)
			}
		}
		mu.Unlock()
		s.Close()
		chNoLeaks(t, before)
	})
}
