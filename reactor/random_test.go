//go:build linux

package reactor

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// TestRandomizedEcho: many conns stream random-sized chunks; the server
// consumes random prefixes (leaving the rest kept), echoes with Write or
// Writev, pauses and resumes reading at random (always after leaving input
// unconsumed), with small water marks.
// Every byte must come back, in order.
func TestRandomizedEcho(t *testing.T) {
	conns, size := 16, 512<<10
	if testing.Short() {
		conns, size = 8, 128<<10
	}
	forEachBackend(t, func(t *testing.T, b Backend) {
		type state struct{ rng *rand.Rand }
		h := HandlerFuncs{
			Open: func(c *Conn) {
				c.SetContext(&state{rng: rand.New(rand.NewPCG(uint64(c.RemoteAddr().(*net.TCPAddr).Port), 7))})
			},
			Data: func(c *Conn, d []byte) int {
				st := c.Context().(*state)
				n := len(d)
				if st.rng.IntN(3) == 0 {
					n = st.rng.IntN(len(d) + 1) // leave a random suffix kept
				}
				if st.rng.IntN(2) == 0 {
					c.Write(d[:n])
				} else {
					half := n / 2
					c.Writev([][]byte{d[:half], d[half:n]})
				}
				// Kept input is presented again only with new bytes or on
				// resume: pause and resume whenever some is left, so the
				// stream's tail is not stranded.
				if n < len(d) || st.rng.IntN(8) == 0 {
					c.PauseReading()
					c.Loop().AfterFunc(time.Duration(st.rng.IntN(500))*time.Microsecond, c.ResumeReading)
				}
				return n
			},
		}
		s := start(t, b, h, WithWriteWaterMarks(32<<10, 8<<10), WithBufferRing(4096, 16))
		var wg sync.WaitGroup
		errs := make(chan string, conns)
		for i := range conns {
			c := dial(t, s)
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), 99))
				data := pattern(size, byte(i))
				c.SetDeadline(time.Now().Add(60 * time.Second))
				go func() {
					for off := 0; off < len(data); {
						n := min(1+rng.IntN(20000), len(data)-off)
						if _, err := c.Write(data[off : off+n]); err != nil {
							return
						}
						off += n
					}
				}()
				got := make([]byte, len(data))
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err.Error()
					return
				}
				if !bytes.Equal(got, data) {
					errs <- "stream corrupted"
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
	})
}
