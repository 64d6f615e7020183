//go:build linux

package reactor

import (
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBulkReadsShortReadWithMoreQueued: a read stops short with bytes still queued at TCP's
// urgent mark (MSG_OOB) and, on a unix socket, right after a message that carried
// descriptors (SCM_RIGHTS). A conn in bulk reads (op_recv_bulk.go) took such a read for an
// empty socket and waited for a wake-up that never came: the bytes behind it were never
// delivered. The server pauses after 1 MiB (which moves the conn to bulk reads), the client
// sends the interrupting message and 32 KiB more, the server resumes.
func TestBulkReadsShortReadWithMoreQueued(t *testing.T) {
	const first, tail = 1 << 20, 32 << 10
	for _, tc := range []struct {
		name      string
		network   string
		interrupt func(t *testing.T, c net.Conn) // sends one byte that ends a read early
	}{
		{"tcp urgent mark", "tcp", func(t *testing.T, c net.Conn) {
			rc, err := c.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var serr error
			if err := rc.Control(func(fd uintptr) {
				if _, serr = c.Write([]byte("a")); serr == nil {
					serr = unix.Sendto(int(fd), []byte("!"), unix.MSG_OOB, nil) // out of band: not read
				}
			}); err != nil || serr != nil {
				t.Fatal(err, serr)
			}
		}},
		{"unix descriptors", "unix", func(t *testing.T, c net.Conn) {
			f, err := os.Open(os.DevNull)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, _, err := c.(*net.UnixConn).WriteMsgUnix([]byte("x"), unix.UnixRights(int(f.Fd())), nil); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b Backend) {
				var total atomic.Int64
				paused := make(chan *Conn, 1)
				h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
					if total.Add(int64(len(d))) == first {
						c.PauseReading()
						paused <- c
					}
					return len(d)
				}}
				addr := "127.0.0.1:0"
				if tc.network == "unix" {
					addr = t.TempDir() + "/bulk.sock"
				}
				s, err := Listen(tc.network, addr, h, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Start(); err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				c, err := net.Dial(tc.network, s.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write(pattern(first, 1)); err != nil {
					t.Fatal(err)
				}
				var sc *Conn
				select {
				case sc = <-paused:
				case <-time.After(5 * time.Second):
					t.Fatalf("server read %d of %d bytes", total.Load(), first)
				}
				tc.interrupt(t, c)
				if _, err := c.Write(pattern(tail, 2)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond) // all queued before the read resumes
				sc.Loop().Execute(sc.ResumeReading)
				want := int64(first + 1 + tail)
				for end := time.Now().Add(3 * time.Second); total.Load() < want && time.Now().Before(end); {
					time.Sleep(5 * time.Millisecond)
				}
				if got := total.Load(); got != want {
					t.Fatalf("server read %d of %d bytes 3 s after resuming: %d behind the short read never read", got, want, want-got)
				}
			})
		})
	}
}
