//go:build linux

package reactor

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// resumeEOFHandler: conn B pauses itself in its first OnData; any input on
// conn A resumes B. OnReadEOF reports how many bytes B's handler was shown.
type resumeEOFHandler struct {
	b      *Conn
	shown  int
	paused bool
	eof    chan int
}

func (h *resumeEOFHandler) OnOpen(c *Conn) {
	unix.SetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
}

func (h *resumeEOFHandler) OnData(c *Conn, d []byte) int {
	if c.Context() == nil {
		c.SetContext(d[0])
		if d[0] == 'B' {
			h.b = c
		}
	}
	if c.Context() == byte('A') {
		h.b.ResumeReading()
		return len(d)
	}
	h.shown += len(d)
	if !h.paused {
		h.paused = true
		c.PauseReading()
	}
	return len(d)
}

func (h *resumeEOFHandler) OnReadEOF(c *Conn) {
	if c.Context() == byte('B') {
		h.eof <- h.shown
	}
	c.Close()
}

func (h *resumeEOFHandler) OnClose(*Conn, error) {}

// Bytes kept unshown because the handler paused must reach it before the
// EOF, also when reading resumes in the same iteration as the FIN arrives:
// the loop is held (Execute sleeps) while B's half-close and A's resume of B
// queue up, so both are dispatched in one batch. A read of 512 KiB is shown
// in 64 KiB windows, so most of it is kept unshown after the pause.
func TestKeptInputBeforeEOF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		h := &resumeEOFHandler{eof: make(chan int, 1)}
		s := start(t, b, h, WithLoops(1), WithReadBufferSize(1<<20))
		cb := dial(t, s)
		cb.SetReadBuffer(4 << 20)
		ca := dial(t, s)
		data := pattern(512<<10, 1)
		data[0] = 'B'
		l := s.Loops()[0]
		hold := func(d time.Duration) {
			l.Execute(func() { time.Sleep(d) })
			time.Sleep(10 * time.Millisecond)
		}
		hold(200 * time.Millisecond)
		cb.Write(data) // arrives while the loop is held: one large read
		time.Sleep(400 * time.Millisecond)
		hold(100 * time.Millisecond)
		ca.Write([]byte("A"))
		time.Sleep(10 * time.Millisecond)
		cb.CloseWrite()
		select {
		case n := <-h.eof:
			if n != len(data) {
				t.Fatalf("OnReadEOF after %d bytes shown, want %d", n, len(data))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no OnReadEOF")
		}
	})
}
