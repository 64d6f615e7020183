package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Found by a review helper (session 12): it failed before the conns were marked
// busy. Shutdown (what SIGTERM calls, with 5 s) during a 4 MiB download that takes
// ~1 s: the client must get all of it, or at least an error, never a clean
// EOF after part of it.
func TestProxyShutdownFinishesTransfer(t *testing.T) {
	for _, b := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		t.Run(string(b), func(t *testing.T) {
			const size = 4 << 20
			up := upstream(t, func(c net.Conn) {
				buf := make([]byte, 64<<10)
				for sent := 0; sent < size; sent += len(buf) {
					if _, err := c.Write(buf); err != nil {
						return
					}
					time.Sleep(15 * time.Millisecond)
				}
			})
			s, err := reactor.Listen("tcp", "127.0.0.1:0", frontHandler(up), reactor.WithBackend(b), reactor.WithLoops(1),
				reactor.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			if err != nil {
				t.Skip(err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			go func() {
				time.Sleep(200 * time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				s.Shutdown(ctx)
			}()
			n, err := io.Copy(io.Discard, c)
			if err == nil && n != size {
				t.Fatalf("graceful Shutdown cut the transfer: clean EOF after %d of %d bytes", n, size)
			}
		})
	}
}
