//go:build linux

package reactor

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// refuser answers admitted conns "ok" and refused ones "no"; a refused conn
// must never see OnOpen or OnData.
type refuser struct {
	opened, refused, closed atomic.Int64
	badData                 atomic.Int64
	panicOn                 bool
}

func (r *refuser) OnOpen(c *Conn) {
	r.opened.Add(1)
	c.Write([]byte("ok"))
}

func (r *refuser) OnRefuse(c *Conn) {
	if c.Context() != nil {
		r.badData.Add(1)
	}
	c.SetContext(r)
	r.refused.Add(1)
	c.Write([]byte("no"))
	if r.panicOn {
		panic("refusal panics")
	}
}

func (r *refuser) OnData(c *Conn, d []byte) int {
	if c.Context() == r {
		r.badData.Add(1) // input delivered to a refused conn
	}
	return len(d)
}

func (r *refuser) OnClose(c *Conn, err error) { r.closed.Add(1) }

// TestMaxConnsExact opens many conns at once on two loops accepting in
// parallel: exactly the limit is admitted, the rest get OnRefuse's answer
// (and are closed), and refused conns never count in NumConns.
func TestMaxConnsExact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const limit, total = 40, 200
		for _, panics := range []bool{false, true} {
			h := &refuser{panicOn: panics}
			s := start(t, b, h, WithMaxConns(limit))
			conns := make([]net.Conn, total)
			answers := make([]string, total)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range total {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					c, err := net.Dial("tcp", s.Addr().String())
					if err != nil {
						answers[i] = "dial: " + err.Error()
						return
					}
					conns[i] = c
					c.Write([]byte("input a refused conn must not see"))
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					buf := make([]byte, 2)
					if _, err := io.ReadFull(c, buf); err != nil {
						answers[i] = "read: " + err.Error()
						return
					}
					answers[i] = string(buf)
				}()
			}
			close(start)
			wg.Wait()
			var ok, no int
			for i, a := range answers {
				switch a {
				case "ok":
					ok++
				case "no":
					no++
					// Closed after the refusal.
					conns[i].SetReadDeadline(time.Now().Add(10 * time.Second))
					if n, err := conns[i].Read(make([]byte, 1)); err == nil || n > 0 {
						t.Fatalf("refused conn still open (read %d, %v)", n, err)
					}
				default:
					if panics && strings.HasPrefix(a, "read: ") {
						no++ // closed by the panic, the refusal unsent
						continue
					}
					t.Fatalf("panics=%v conn %d: %s (opened %d refused %d)", panics, i, a, h.opened.Load(), h.refused.Load())
				}
			}
			if ok != limit || no != total-limit {
				t.Fatalf("panics=%v: %d admitted, %d refused; want %d and %d", panics, ok, no, limit, total-limit)
			}
			if n := s.NumConns(); n != limit {
				t.Fatalf("NumConns %d, want %d", n, limit)
			}
			deadline := time.Now().Add(10 * time.Second)
			for h.closed.Load() < total-limit && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if h.closed.Load() != total-limit || h.badData.Load() != 0 || h.opened.Load() != limit {
				t.Fatalf("closed %d (want %d), OnData on refused conns %d, opened %d",
					h.closed.Load(), total-limit, h.badData.Load(), h.opened.Load())
			}
			// Closing the admitted conns frees their places.
			for i, a := range answers {
				if a == "ok" {
					conns[i].Close()
				}
			}
			for s.NumConns() != 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			c := dial(t, s)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 2)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
				t.Fatalf("after the admitted conns closed: %q, %v", buf, err)
			}
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
			s.Close()
		}
	})
}
