//go:build linux

package reactor

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// pausingEcho echoes everything, but pauses reading after its first input
// and resumes 50 ms later, so the rest of the stream and the peer's FIN
// arrive while it is paused.
type pausingEcho struct {
	readEOF chan int // total bytes seen when OnReadEOF ran (ReadEOFHandler variant)
	seen    int
	paused  bool
}

func (h *pausingEcho) OnOpen(*Conn) {}
func (h *pausingEcho) OnData(c *Conn, d []byte) int {
	c.Write(d)
	h.seen += len(d)
	if !h.paused {
		h.paused = true
		c.PauseReading()
		c.Loop().AfterFunc(50*time.Millisecond, c.ResumeReading)
	}
	return len(d)
}
func (h *pausingEcho) OnClose(*Conn, error) {}

type pausingEchoEOF struct{ pausingEcho }

func (h *pausingEchoEOF) OnReadEOF(c *Conn) {
	h.readEOF <- h.seen
	c.Close()
}

// TestEOFWhilePausedDeliversKeptInput is the regression test for input read
// while reading was paused being dropped when the peer's FIN followed: every
// byte must reach the handler before the EOF does, with and without
// ReadEOFHandler.
func TestEOFWhilePausedDeliversKeptInput(t *testing.T) {
	for _, withEOF := range []bool{false, true} {
		name := "plain"
		if withEOF {
			name = "ReadEOFHandler"
		}
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b Backend) {
				var h Handler
				var readEOF chan int
				if withEOF {
					readEOF = make(chan int, 1)
					h = &pausingEchoEOF{pausingEcho{readEOF: readEOF}}
				} else {
					h = &pausingEcho{}
				}
				s := start(t, b, h, WithLoops(1))
				c := dial(t, s)
				c.SetDeadline(time.Now().Add(20 * time.Second))
				// Everything and the FIN leave at once: the handler pauses on its
				// first input while the kernel has already completed more reads
				// (multishot CQEs in the same batch) and the EOF.
				data := pattern(256<<10, 3)
				if _, err := c.Write(data); err != nil {
					t.Fatal(err)
				}
				if err := c.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(c)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("echoed %d bytes, want %d (input kept while paused was lost)", len(got), len(data))
				}
				if withEOF {
					if n := <-readEOF; n != len(data) {
						t.Fatalf("OnReadEOF after %d bytes, want %d", n, len(data))
					}
				}
			})
		})
	}
}
