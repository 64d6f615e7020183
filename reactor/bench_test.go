//go:build linux

package reactor

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkEchoRoundTrip measures one echo round trip over loopback (client:
// Go's net.Conn) per op, per backend and payload size. Run with -benchmem.
func BenchmarkEchoRoundTrip(b *testing.B) {
	for _, be := range []Backend{BackendEpoll, BackendUring} {
		for _, size := range []int{64, 4096} {
			b.Run(fmt.Sprintf("%s/%dB", be, size), func(b *testing.B) {
				if be == BackendUring {
					if err := uringAvailable(); err != nil {
						b.Skipf("io_uring unusable here: %v", err)
					}
				}
				s := start(b, be, echoHandler(), WithLoops(1))
				c := dial(b, s)
				msg := pattern(size, 1)
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := c.Write(msg); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEchoPipelined keeps 16 messages in flight per round.
func BenchmarkEchoPipelined16(b *testing.B) {
	for _, be := range []Backend{BackendEpoll, BackendUring} {
		b.Run(string(be), func(b *testing.B) {
			if be == BackendUring {
				if err := uringAvailable(); err != nil {
					b.Skipf("io_uring unusable here: %v", err)
				}
			}
			s := start(b, be, echoHandler(), WithLoops(1))
			c := dial(b, s)
			msg := pattern(64*16, 1)
			buf := make([]byte, len(msg))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c.Write(msg)
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEchoReactorClient drives the echo server with clients dialed on
// another ringo server (both sides on the reactor, same backend), so the
// figure is reactor overhead plus the kernel's loopback TCP, without Go's
// netpoller. One op is one 64-byte round trip; conns run concurrently.
func BenchmarkEchoReactorClient(b *testing.B) {
	for _, be := range []Backend{BackendEpoll, BackendUring} {
		for _, conns := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/conns=%d", be, conns), func(b *testing.B) {
				if be == BackendUring {
					if err := uringAvailable(); err != nil {
						b.Skipf("io_uring unusable here: %v", err)
					}
				}
				srv := start(b, be, echoHandler(), WithLoops(1))
				cli, err := NewServer(echoHandler(), WithBackend(be), WithLoops(1), WithLogger(quietLogger()))
				if err != nil {
					b.Fatal(err)
				}
				if err := cli.Start(); err != nil {
					b.Fatal(err)
				}
				defer cli.Close()
				msg := pattern(64, 1)
				remaining := b.N // loop only
				finished := make(chan struct{})
				h := HandlerFuncs{
					Open: func(c *Conn) { c.Write(msg) },
					Data: func(c *Conn, d []byte) int {
						if len(d) < len(msg) {
							return 0 // wait for the whole echo
						}
						remaining--
						switch {
						case remaining > 0:
							c.Write(msg)
						case remaining == 0:
							close(finished)
						}
						return len(msg)
					},
				}
				b.ReportAllocs()
				b.ResetTimer()
				l := cli.Loops()[0]
				l.Execute(func() {
					for range min(conns, b.N) {
						if _, err := l.Dial("tcp", srv.Addr().String(), h); err != nil {
							panic(err)
						}
					}
				})
				<-finished
			})
		}
	}
}

// BenchmarkExecuteIdleLoop measures waking an idle loop from another
// goroutine: one Execute and the wait for its func per op. A locked loop is
// woken through its eventfd (a write, then the loop's read); a parked loop
// through its Parker (a read deadline in the past, no syscall).
func BenchmarkExecuteIdleLoop(b *testing.B) {
	for _, parked := range []bool{false, true} {
		b.Run(fmt.Sprintf("parked=%v", parked), func(b *testing.B) {
			s := start(b, BackendEpoll, echoHandler(), WithLoops(1), WithParkedLoops(parked))
			l := s.Loops()[0]
			done := make(chan struct{}, 1)
			f := func() { done <- struct{}{} }
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := l.Execute(f); err != nil {
					b.Fatal(err)
				}
				<-done
			}
		})
	}
}
