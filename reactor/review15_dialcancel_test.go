//go:build linux

package reactor

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// Review 4: a dial to a unix listener whose backlog is full, closed in the
// callback that dialed it. On io_uring the connect's poll fires at once (an
// unconnected unix socket polls writable), and the kernel re-issues it as
// the cancel comes: the cancel finds nothing (-ENOENT) and was not retried,
// so the connect stayed in flight and the conn was never released (fd and
// slot held while the server runs), Shutdown waited for it until its
// context ended, and Close waited 2 s and logged "ops still in flight".
func TestDialCloseAtOnceUnixFullBacklogReleases(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		// A unix listener with a full backlog: a blocking connect waits.
		path := filepath.Join(t.TempDir(), "full")
		lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(lfd)
		if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: path}); err != nil {
			t.Fatal(err)
		}
		unix.Listen(lfd, 0)
		for i := 0; i < 4; i++ {
			cfd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			defer unix.Close(cfd)
			if unix.Connect(cfd, &unix.SockaddrUnix{Name: path}) == unix.EAGAIN {
				break
			}
		}
		before := reactortest.CountFDs()
		s, err := NewServer(echoHandler(), legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		l := s.Loops()[0]
		const n = 4
		var opens, closes atomic.Int32
		done := make(chan struct{})
		l.Execute(func() {
			defer close(done)
			for i := 0; i < n; i++ {
				c, err := l.Dial("unix", path, HandlerFuncs{
					Open:  func(*Conn) { opens.Add(1) },
					Close: func(*Conn, error) { closes.Add(1) },
				})
				if err != nil {
					t.Error(err)
					return
				}
				c.Close()
			}
		})
		<-done
		slots := func() int {
			ch := make(chan int, 1)
			l.Execute(func() { ch <- l.nconns })
			return <-ch
		}
		end := time.Now().Add(2 * time.Second)
		for (slots() > 0 || closes.Load() < n) && time.Now().Before(end) {
			time.Sleep(10 * time.Millisecond)
		}
		if k := slots(); k > 0 {
			t.Errorf("2 s after Close, %d of %d closed dials still hold their slot and fd (fds %d, %d before the server)",
				k, n, reactortest.CountFDs(), before)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown with no conn open: %v", err)
		}
		s.Close()
		reactortest.WaitUntil(t, 5*time.Second, "fds back", func() bool { return reactortest.CountFDs() <= before })
		if closes.Load() != n || opens.Load() != 0 {
			t.Errorf("opens %d closes %d, want 0 and %d", opens.Load(), closes.Load(), n)
		}
	})
}
