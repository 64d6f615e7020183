//go:build linux

package reactor

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// WithWriteWaterMarks: reading pauses above high and resumes once the queue
// drained below low. A conn whose queue is one large send still in progress
// (short sends continuing it) must resume when that send's remainder is
// below low, not only when all of it was sent.
func TestResumeBelowLowMarkDuringLongSend(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const (
			high  = 1 << 20
			low   = 512 << 10
			total = 4 << 20
		)
		second := make(chan int, 4)
		h := HandlerFuncs{
			Open: func(c *Conn) {
				unix.SetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 32<<10)
			},
			Data: func(c *Conn, d []byte) int {
				if d[0] == '1' {
					c.Write(pattern(total, 1))
				} else {
					second <- c.Buffered()
				}
				return len(d)
			},
		}
		s := start(t, b, h, WithLoops(1), WithWriteWaterMarks(high, low))
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<10)
			})
		}}
		nc, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := nc.Write([]byte("1")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the 4 MiB is queued: reading paused
		if _, err := nc.Write([]byte("2")); err != nil {
			t.Fatal(err)
		}
		// Read all but 256 KiB: the server then holds less than that (its queue
		// plus what the small socket buffers hold), well below low.
		if _, err := io.ReadFull(nc, make([]byte, total-256<<10)); err != nil {
			t.Fatal(err)
		}
		select {
		case q := <-second:
			t.Logf("second message delivered with %d bytes queued", q)
		case <-time.After(2 * time.Second):
			t.Fatalf("queue below the low mark (< 256 KiB of %d left), but reading still paused after 2 s", total)
		}
		io.ReadFull(nc, make([]byte, 256<<10))
	})
}
