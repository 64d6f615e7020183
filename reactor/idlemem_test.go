//go:build linux

package reactor

import (
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// idleConnHeap opens n loopback conns to an echo server on backend b (the
// clients are raw blocking sockets, so they put nothing on the Go heap),
// makes one 64-byte round trip on each (so per-conn buffers were used and
// given back), lets them sit idle, and returns the live Go heap (after a
// full GC) per conn, server side.
func idleConnHeap(tb testing.TB, b Backend, n int) float64 {
	tb.Helper()
	if lim := raiseNoFile(tb, uint64(2*n+512)); lim < uint64(2*n+512) {
		tb.Skipf("RLIMIT_NOFILE %d too low for %d conns", lim, n)
	}
	s := start(tb, b, echoHandler())
	sa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: s.Addr().(*net.TCPAddr).Port}
	fds := make([]int, 0, n)
	tb.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	msg := pattern(64, 7)
	buf := make([]byte, 64)
	tv := unix.Timeval{Sec: 20}
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			tb.Fatal(err)
		}
		fds = append(fds, fd)
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		if err := unix.Connect(fd, sa); err != nil {
			tb.Fatal(err)
		}
		for {
			_, err := unix.Write(fd, msg)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				tb.Fatal(err)
			}
			break
		}
		for got := 0; got < len(msg); {
			m, err := unix.Read(fd, buf[got:])
			if err == unix.EINTR {
				continue // Go's preemption signal (SIGURG) interrupts a read with SO_RCVTIMEO
			}
			if err != nil || m <= 0 {
				tb.Fatalf("echo read: %d, %v", m, err)
			}
			got += m
		}
	}
	reactortest.WaitUntil(tb, 20*time.Second, "all conns open", func() bool { return s.NumConns() == n })
	// Let the loops run an iteration with nothing to do, then measure.
	for _, l := range s.Loops() {
		done := make(chan struct{})
		l.Execute(func() { close(done) })
		<-done
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(fds)
	// An idle conn holds no byte queue: its buffers, and the connBufs that
	// held them, went back to the loop's pools.
	for _, l := range s.Loops() {
		held := make(chan int, 1)
		l.Execute(func() {
			n := 0
			for i := range l.conns {
				if c := l.conns[i].c; c != nil && c.bufs != nil {
					n++
				}
			}
			held <- n
		})
		if n := <-held; n != 0 {
			tb.Fatalf("loop %d: %d idle conns still hold byte queues", l.Index(), n)
		}
	}
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// idleConnHeapBound is a leak guard far above the goal (256 B per conn,
// RSS included): it fails only when something per conn is retained by
// mistake (a buffer, a timer, a map entry), not on a small regression.
const idleConnHeapBound = 4 << 10

func TestIdleConnHeapBounded(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	forEachBackend(t, func(t *testing.T, b Backend) {
		per := idleConnHeap(t, b, n)
		t.Logf("%s: %.0f heap bytes per idle conn (%d conns)", b, per, n)
		if per > idleConnHeapBound {
			t.Fatalf("%.0f heap bytes per idle conn, bound %d", per, idleConnHeapBound)
		}
	})
}

// BenchmarkIdleConnHeap reports the live Go heap per idle conn (2,000 conns)
// per backend as the metric heap-B/conn. b.N is not used (each call is one
// measurement): run it with -benchtime=1x.
func BenchmarkIdleConnHeap(b *testing.B) {
	for _, be := range []Backend{BackendEpoll, BackendUring} {
		b.Run(string(be), func(b *testing.B) {
			if be == BackendUring {
				if err := uringAvailable(); err != nil {
					b.Skipf("io_uring unusable here: %v", err)
				}
			}
			per := idleConnHeap(b, be, 2000)
			b.ReportMetric(per, "heap-B/conn")
			b.ReportMetric(0, "ns/op")
		})
	}
}
