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

// A peer that resets a conn in the middle of a large upload must get the conn closed
// (OnClose). With CapRecvLimit (6.17) a multishot recv that fills its cap is re-queued by the
// kernel; when its next read comes short it waits for the socket's next wake-up, and a reset
// that came while it was re-queued was never reported: the conn stayed open, its recv armed
// and its socket in TCP_CLOSE, until Server.Close (about 1 conn in 60 per round here, on the
// main ring and on the big ring of sessions 5-16 alike; none with the cap masked).
// RELIABILITY listed it as "not covered". Since bulk reads (op_recv_bulk.go) a conn leaves the
// capped recv after its first large read and reads on readiness, which reports the reset.
func TestCappedRecvResetReported(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	if f, err := ring.Detect(); err != nil || !f.Has(ring.CapRecvLimit) {
		t.Skip("kernel lacks a length cap on multishot recv (CapRecvLimit, 6.17)")
	}
	for _, leg := range []struct {
		name string
		opts []Option
	}{{"default-ring", nil}, {"small-ring", []Option{WithBufferRing(16<<10, 32)}}} {
		t.Run(leg.name, func(t *testing.T) { checkResetDuringUpload(t, leg.opts) })
	}
}

// checkResetDuringUpload runs 6 rounds of 60 clients that each reset their
// conn at a random point of a 1 MiB upload, and checks every conn got its
// OnClose within 3 s.
func checkResetDuringUpload(t *testing.T, opts []Option) {
	t.Helper()
	for round := 0; round < 6; round++ {
		var closes, opens atomic.Int32
		h := HandlerFuncs{
			Open:  func(c *Conn) { opens.Add(1) },
			Data:  func(c *Conn, d []byte) int { return len(d) },
			Close: func(c *Conn, err error) { closes.Add(1) },
		}
		s := start(t, BackendUring, h, append([]Option{WithLoops(1)}, opts...)...)
		const n = 60
		data := pattern(1<<20, 3)
		for i := 0; i < n; i++ {
			cl, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				// Reset at a random point of the upload.
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
}
