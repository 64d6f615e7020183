//go:build linux && !race

package reactor

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"
)

// TestEchoSteadyStateAllocatesNothing: once warm, an echo round trip
// allocates nothing, on the loop or (with Go's net.Conn) in the client.
// AllocsPerRun counts every goroutine's allocations, the loop's included.
// The 64 KiB case outgrows the 16 KiB base buffers: it is the regression
// test for grown output and input buffers going to the GC after every
// message (allocation, zeroing and copying per message; 2.5x gnet's CPU at
// 64 KiB echo) instead of back to the pool.
func TestEchoSteadyStateAllocatesNothing(t *testing.T) {
	for _, size := range []int{512, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) { echoAllocs(t, size) })
	}
}

func echoAllocs(t *testing.T, size int) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		s := start(t, b, echoHandler(), WithLoops(1))
		if allocs := roundTripAllocs(t, s, size, max(2000*512/size, 100)); allocs != 0 {
			t.Fatalf("echo round trip allocates %v times", allocs)
		}
	})
}

// roundTripAllocs dials the echo server s, warms it up (pools, slices,
// buffers) and returns the allocations per round trip of size bytes over
// runs round trips, after checking the last echo.
func roundTripAllocs(t *testing.T, s *Server, size, runs int) float64 {
	t.Helper()
	c := dial(t, s)
	c.SetDeadline(time.Now().Add(60 * time.Second))
	msg := pattern(size, 1)
	buf := make([]byte, len(msg))
	roundTrip := func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		roundTrip()
	}
	allocs := testing.AllocsPerRun(runs, roundTrip)
	if !bytes.Equal(buf, msg) {
		t.Fatal("echo differs")
	}
	return allocs
}

// TestAddrPortAllocatesNothing: the netip forms of a conn's addresses cost
// no allocation (the net.Addr forms make a *net.TCPAddr per call).
func TestAddrPortAllocatesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		conns := make(chan *Conn, 1)
		s := start(t, b, HandlerFuncs{Open: func(c *Conn) { conns <- c }}, WithLoops(1))
		dial(t, s)
		var c *Conn
		select {
		case c = <-conns:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnOpen")
		}
		var sink uint16
		allocs := testing.AllocsPerRun(1000, func() {
			sink += c.RemoteAddrPort().Port() + c.LocalAddrPort().Port()
		})
		if allocs != 0 || sink == 0 {
			t.Fatalf("AddrPort accessors allocate %v times (ports sum %d)", allocs, sink)
		}
	})
}

// echoTask echoes a conn's input through Loop.GoTask: Run (off the loop)
// does nothing, Done (on the loop) writes what OnData copied in.
type echoTask struct {
	c   *Conn
	buf []byte
}

func (t *echoTask) Run() bool { return true }
func (t *echoTask) Done()     { t.c.Write(t.buf); t.buf = t.buf[:0] }

// TestGoTaskAllocatesNothing: on a parked loop a GoTask and its Done cost no
// allocation (Go's func form allocates a wrapper per call; httpx's FromHTTP
// requests use GoTask).
func TestGoTaskAllocatesNothing(t *testing.T) {
	s := start(t, BackendEpoll, HandlerFuncs{
		Open: func(c *Conn) {
			c.SetContext(&echoTask{c: c, buf: make([]byte, 0, 4096)})
		},
		Data: func(c *Conn, d []byte) int {
			tk := c.Context().(*echoTask)
			tk.buf = append(tk.buf, d...)
			if !c.Loop().GoTask(tk) {
				c.Close()
			}
			return len(d)
		}}, WithLoops(1), WithParkedLoops(true))
	if allocs := roundTripAllocs(t, s, 512, 2000); allocs != 0 {
		t.Fatalf("a GoTask round trip allocates %v times", allocs)
	}
}
