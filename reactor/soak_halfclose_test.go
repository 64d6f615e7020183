//go:build linux

package reactor

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// byeHandler is the storm server plus ReadEOFHandler: after the peer's FIN
// it answers "BYE\n" a little later (a timer), then closes.
type byeHandler struct {
	HandlerFuncs
	eofs atomic.Int64
}

func (h *byeHandler) OnReadEOF(c *Conn) {
	h.eofs.Add(1)
	c.Loop().AfterFunc(time.Duration(rand.IntN(3000))*time.Microsecond, func() {
		c.Write([]byte("BYE\n"))
		c.Close()
	})
}

// TestSoakHalfCloseReadEOF: many conns (2,000 under RINGO_SOAK=1, 200
// otherwise, 64 at a time) send a few requests, some with large responses,
// then half-close; the handler implements ReadEOFHandler and answers
// "BYE" after the FIN, from a timer. Every client must get all its
// responses, then BYE, then EOF, except clients that reset right after
// their FIN (they test that a write to a reset peer closes the conn).
// Afterwards every OnOpen had one OnClose and no conn, fd or goroutine
// is left.
func TestSoakHalfCloseReadEOF(t *testing.T) {
	total, parallel := reactortest.N(200, 2000), 64
	reactortest.RaiseNoFile(t, uint64(4*parallel+512))
	forEachBackend(t, func(t *testing.T, b Backend) {
		st := &stormServer{handled: map[uint64]int{}}
		h := &byeHandler{HandlerFuncs: st.handler()}
		logs := &logBuf{}
		s := start(t, b, h, WithLogger(slogTo(logs)))
		base := reactortest.Baseline()
		var nextID atomic.Uint64
		var byes, resets atomic.Int64
		errs := make(chan error, total)
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range total {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				rng := rand.New(rand.NewPCG(uint64(i), 5))
				c, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				var ids []uint64
				var sizes []int
				var req []byte
				for range 1 + rng.IntN(4) {
					id, n := nextID.Add(1), rng.IntN(1024)
					if rng.IntN(8) == 0 {
						n = len(stormBody) // a large response still queued at the FIN
					}
					ids, sizes = append(ids, id), append(sizes, n)
					req = fmt.Appendf(req, "REQ %d %d\n", id, n)
				}
				c.Write(req)
				c.(*net.TCPConn).CloseWrite()
				if rng.IntN(10) == 0 { // reset right after the FIN
					c.(*net.TCPConn).SetLinger(0)
					resets.Add(1)
					return
				}
				r := bufio.NewReader(c)
				for k, id := range ids {
					if err := readStorm(r, id, sizes[k]); err != nil {
						errs <- err
						return
					}
				}
				rest, err := io.ReadAll(r)
				if err != nil || string(rest) != "BYE\n" {
					errs <- fmt.Errorf("after the responses: %q, %v (want BYE then EOF)", rest, err)
					return
				}
				byes.Add(1)
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		reactortest.WaitUntil(t, 30*time.Second, "all conns closed", func() bool { return s.NumConns() == 0 })
		reactortest.WaitUntil(t, 30*time.Second, "OnClose for every OnOpen", func() bool { return st.closes.Load() == st.opens.Load() })
		if strings.Contains(logs.String(), "panic") {
			t.Errorf("panic logged:\n%s", logs.String())
		}
		t.Logf("%s: %d half-closing conns in %v: %d got BYE then EOF, %d reset after their FIN; OnReadEOF %d times",
			soakLeg(t), total, elapsed.Round(time.Millisecond), byes.Load(), resets.Load(), h.eofs.Load())
		if byes.Load()+resets.Load() != int64(total) {
			t.Errorf("%d BYEs + %d resets, want %d", byes.Load(), resets.Load(), total)
		}
		reactortest.BackToBase(t, base, soakConnsRSSSlack)
	})
}
