//go:build linux

package reactor

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// TestSoakSlowReaders: N conns (1,000 under RINGO_SOAK=1, 100 otherwise)
// each stream a large payload to an echo server while reading the echo
// back slowly. The server's outbound queue of each conn must stay bounded
// by the high-water mark (reading pauses above it), so the memory the
// server holds for output is about conns x high-water mark, not conns x
// payload. Checked three ways: Conn.Buffered() seen by the handler, the
// bytes the loops hold for all conns (sampled on the loops), and RSS.
// Every byte must come back in order.
func TestSoakSlowReaders(t *testing.T) {
	conns := reactortest.N(50, 1000)
	size := reactortest.N(4<<20, 2<<20) // payload per conn, well above the memory bound below
	const high, low = 64 << 10, 16 << 10
	// One iteration can deliver more input after the pause was decided:
	// the provided buffers (16 x 4 KiB here) or the epoll read buffer
	// (64 KiB); 256 KiB is the bound TestSlowReaderWaterMarks uses.
	const slack = 256 << 10
	reactortest.RaiseNoFile(t, uint64(2*conns+512))
	// Each conn's stream is a window of one shared pattern, so the client
	// side holds no per-conn copy.
	shared := pattern(size+64<<10, 77)
	stream := func(i int) []byte { off := (i * 4099) % (64 << 10); return shared[off : off+size] }

	forEachBackend(t, func(t *testing.T, b Backend) {
		var maxBuffered, overHigh atomic.Int64
		type connMax struct{ max int }
		s := start(t, b, HandlerFuncs{
			Open: func(c *Conn) {
				// Small kernel buffers on the server side, so the reactor's
				// queue is what absorbs the slow reader.
				unix.SetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 32<<10)
				c.SetContext(&connMax{})
			},
			Data: func(c *Conn, d []byte) int {
				c.Write(d)
				n := c.Buffered()
				cm := c.Context().(*connMax)
				if n > cm.max {
					if cm.max <= high && n > high {
						overHigh.Add(1)
					}
					cm.max = n
					for {
						m := maxBuffered.Load()
						if int64(n) <= m || maxBuffered.CompareAndSwap(m, int64(n)) {
							break
						}
					}
				}
				return len(d)
			}}, WithWriteWaterMarks(high, low), WithBufferRing(4096, 16))
		base := reactortest.Baseline()

		// Sample, on the loops, the bytes of output queued and input kept
		// (capacity: what is really allocated) over all conns, and RSS.
		var peakHeld, peakRSS atomic.Int64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				var held int64
				var mu sync.Mutex
				for _, l := range s.Loops() {
					done := make(chan struct{})
					if l.Execute(func() {
						var h int64
						for i := range l.conns {
							if c := l.conns[i].c; c != nil {
								if q := c.bufs; q != nil {
									h += int64(cap(q.out) + cap(q.sendBuf) + cap(q.in))
								}
							}
						}
						mu.Lock()
						held += h
						mu.Unlock()
						close(done)
					}) != nil {
						return
					}
					<-done
				}
				if held > peakHeld.Load() {
					peakHeld.Store(held)
				}
				if r := reactortest.RSS(); r > peakRSS.Load() {
					peakRSS.Store(r)
				}
			}
		}()

		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		for i := range conns {
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c.(*net.TCPConn).SetReadBuffer(128 << 10)
			wg.Add(2)
			data := stream(i)
			go func() {
				defer wg.Done()
				c.SetWriteDeadline(time.Now().Add(5 * time.Minute))
				for off := 0; off < len(data); off += 32 << 10 {
					if _, err := c.Write(data[off:min(off+32<<10, len(data))]); err != nil {
						errs <- fmt.Errorf("conn %d write: %w", i, err)
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 8<<10)
				c.SetReadDeadline(time.Now().Add(5 * time.Minute))
				for got := 0; got < len(data); {
					n, err := c.Read(buf)
					if !bytes.Equal(buf[:n], data[got:got+n]) {
						errs <- fmt.Errorf("conn %d: echo differs at byte %d", i, got)
						return
					}
					got += n
					if err != nil {
						if err == io.EOF && got == len(data) {
							break
						}
						errs <- fmt.Errorf("conn %d read after %d bytes: %w", i, got, err)
						return
					}
					time.Sleep(2 * time.Millisecond) // a slow reader
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(stop)
		<-sampled
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		reactortest.WaitUntil(t, 30*time.Second, "all conns closed", func() bool { return s.NumConns() == 0 })

		rssGrowth := peakRSS.Load() - base.RSS
		t.Logf("%s: %d slow readers x %s echoed in %v; max Buffered %d B (high %d); %d conns went above high; peak held by loops %s (%d B per conn); peak RSS %s (+%s over baseline, %d B per conn; unbounded would be %s)",
			soakLeg(t), conns, reactortest.MiB(int64(size)), elapsed.Round(time.Millisecond), maxBuffered.Load(), high, overHigh.Load(),
			reactortest.MiB(peakHeld.Load()), peakHeld.Load()/int64(conns), reactortest.MiB(peakRSS.Load()), reactortest.MiB(rssGrowth), rssGrowth/int64(conns),
			reactortest.MiB(int64(conns)*int64(size)))
		if overHigh.Load() == 0 {
			t.Fatal("no conn's queue went above the high-water mark: the readers were not slow enough, the test proves nothing")
		}
		if m := maxBuffered.Load(); m > high+slack {
			t.Errorf("a conn queued %d bytes, above the high-water mark %d plus one delivery (%d)", m, high, slack)
		}
		// Output queued plus the spare send buffer plus kept input, each at
		// most high+slack, for every conn at once.
		if held := peakHeld.Load(); held > int64(conns)*3*(high+slack) {
			t.Errorf("the loops held %s for %d conns, above 3 x (high + slack) per conn", reactortest.MiB(held), conns)
		}
		// RSS: three buffers per conn (output queued, spare send buffer,
		// kept input), each about high + one delivery (64 KiB), doubled for
		// the Go heap's headroom (GOGC=100), plus 64 MiB for the client side
		// (goroutines and read buffers). Unbounded queues would need about
		// conns x payload.
		if bound := int64(conns)*6*(high+64<<10) + 64<<20; rssGrowth > bound && !reactortest.Race {
			t.Errorf("RSS grew %s, above %s", reactortest.MiB(rssGrowth), reactortest.MiB(bound))
		}
	})
}
