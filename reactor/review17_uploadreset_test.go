//go:build linux

package reactor

import (
	"math/rand"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// TestCappedRecvResetReported with the legs of kernels whose multishot recv
// has no bundles (6.0-6.9) or no cap (before 6.17).
func TestResetDuringUploadUnderMasks(t *testing.T) {
	skipWithoutMultishotRecv(t)
	for _, leg := range []struct {
		name string
		opts []Option
	}{
		{"no-bundle", []Option{withFeatureMask(ring.CapRecvBundle)}},
		{"no-bundle-no-limit", []Option{withFeatureMask(ring.CapRecvBundle | ring.CapRecvLimit)}},
		{"no-limit", []Option{withFeatureMask(ring.CapRecvLimit)}},
		{"6.1", []Option{withFeatureMask(kernelGenerations[4].mask)}},
	} {
		t.Run(leg.name, func(t *testing.T) {
			for round := 0; round < 6; round++ {
				var closes, opens atomic.Int32
				h := HandlerFuncs{
					Open:  func(c *Conn) { opens.Add(1) },
					Data:  func(c *Conn, d []byte) int { return len(d) },
					Close: func(c *Conn, err error) { closes.Add(1) },
				}
				s := start(t, BackendUring, h, append([]Option{WithLoops(1)}, leg.opts...)...)
				const n = 60
				data := pattern(1<<20, 3)
				for i := 0; i < n; i++ {
					cl, err := net.Dial("tcp", s.Addr().String())
					if err != nil {
						t.Fatal(err)
					}
					go func() {
						cl.SetWriteDeadline(time.Now().Add(time.Duration(rand.Intn(20)) * time.Millisecond))
						cl.Write(data)
						cl.(*net.TCPConn).SetLinger(0)
						cl.Close()
					}()
				}
				time.Sleep(500 * time.Millisecond)
				end := time.Now().Add(3 * time.Second)
				for closes.Load() < opens.Load() && time.Now().Before(end) {
					time.Sleep(10 * time.Millisecond)
				}
				if c, o := closes.Load(), opens.Load(); c < o {
					l := s.Loops()[0]
					done := make(chan struct{})
					l.Execute(func() {
						defer close(done)
						for i := range l.conns {
							if c := l.conns[i].c; c != nil {
								st, _ := unix.GetsockoptByte(int(c.fd), unix.IPPROTO_TCP, unix.TCP_INFO)
								t.Logf("open conn: recv armed %v, bulk %v, poll %v, tcp state %d", c.recvArmed, c.bulk, c.recvPoll, st)
							}
						}
					})
					<-done
					t.Fatalf("round %d: %d of %d conns reset by their peer still open 3 s later (no OnClose)", round, o-c, o)
				}
				s.Close()
			}
		})
	}
}
