//go:build linux

package reactor

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Start while fds are exhausted (a loop's ring or epoll fd cannot be made): Start fails for
// the loop that could not start, whichever it is; Serve and Close return; the loops that
// did start stop; nothing of the server remains.
func TestReview21StartFailsUnderEMFILE(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		for free := 0; free <= 6; free++ {
			before := snapshot()
			s, err := Listen("tcp", "127.0.0.1:0", echoHandler(), legBackend(b), WithLoops(3), WithLogger(quietLogger()))
			if err != nil {
				t.Fatal(err)
			}
			var fill []int
			for {
				fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					break
				}
				fill = append(fill, fd)
			}
			for _, fd := range fill[len(fill)-free:] {
				unix.Close(fd)
			}
			fill = fill[:len(fill)-free]
			startErr := s.Start()
			for _, fd := range fill {
				unix.Close(fd)
			}
			t.Logf("free %d: Start: %v", free, startErr)
			serveErr := make(chan error, 1)
			go func() { serveErr <- s.Serve() }()
			if startErr != nil {
				select {
				case err := <-serveErr:
					if err == nil {
						t.Fatalf("free %d: Serve after a failed Start: nil", free)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("free %d: Serve hangs after a failed Start", free)
				}
			}
			closed := make(chan struct{})
			go func() { s.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatalf("free %d: Close hangs", free)
			}
			if startErr == nil {
				if err := <-serveErr; !errors.Is(err, ErrServerClosed) {
					t.Fatalf("Serve: %v", err)
				}
			}
			checkNoLeaks(t, before)
		}
	})
}

// Listen errors leave no fd behind.
func TestReview21ListenErrorsNoLeak(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s1 := start(t, b, echoHandler())
		nl, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skip(err)
		}
		defer nl.Close()
		before := snapshot()
		for _, tc := range [][2]string{
			{"tcp", s1.Addr().String()},
			{"tcp6", nl.Addr().String()},
			{"tcp", nl.Addr().String()},
			{"unix", filepath.Join(t.TempDir(), "no", "such", "dir.sock")},
			{"udp", "127.0.0.1:0"},
			{"tcp4", "[::1]:0"},
		} {
			if s, err := Listen(tc[0], tc[1], echoHandler(), legBackend(b), WithLoops(3), WithLogger(quietLogger())); err == nil {
				s.Close()
				t.Errorf("Listen(%q, %q) succeeded", tc[0], tc[1])
			}
		}
		checkNoLeaks(t, before)
	})
}

// Shutdown with an already expired ctx, and Shutdown twice: Shutdown returns ctx.Err() and
// the server is closed; a second Shutdown and a Close return nil; Serve returns
// ErrServerClosed; on ::1 and on a unix socket.
func TestReview21ShutdownExpiredCtx(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		for _, na := range [][2]string{{"tcp6", "[::1]:0"}, {"unix", filepath.Join(t.TempDir(), "s.sock")}} {
			before := snapshot()
			s, err := Listen(na[0], na[1], echoHandler(), legBackend(b), WithLoops(2), WithLogger(quietLogger()))
			if err != nil {
				t.Fatal(err)
			}
			serveErr := make(chan error, 1)
			go func() { serveErr <- s.Serve() }()
			c, err := net.DialTimeout(na[0], s.Addr().String(), 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			echoRoundTrip(t, c, []byte("ping"))
			c.Write([]byte("x")) // busy: unread input
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Shutdown: %v", err)
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatalf("second Shutdown: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-serveErr:
				if !errors.Is(err, ErrServerClosed) {
					t.Fatalf("Serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return")
			}
			c.Close()
			checkNoLeaks(t, before)
		}
	})
}
