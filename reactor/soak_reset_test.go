//go:build linux

package reactor

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// storm protocol: a request is the line "REQ <id> <n>\n"; its response is
// "RSP <id> <n>\n" followed by n bytes of stormBody.
var stormBody = pattern(1<<20, 99)

// stormServer answers storm requests and records every id it handled.
type stormServer struct {
	mu      sync.Mutex
	handled map[uint64]int
	opens   atomic.Int64
	closes  atomic.Int64
}

func (st *stormServer) handler() HandlerFuncs {
	return HandlerFuncs{
		Open:  func(c *Conn) { st.opens.Add(1) },
		Close: func(c *Conn, err error) { st.closes.Add(1) },
		Data: func(c *Conn, d []byte) int {
			used := 0
			for {
				i := bytes.IndexByte(d[used:], '\n')
				if i < 0 {
					return used // a partial line is kept
				}
				line := string(d[used : used+i])
				used += i + 1
				f := strings.Fields(line)
				if len(f) != 3 || f[0] != "REQ" {
					c.CloseWithError(fmt.Errorf("bad request %q", line))
					return len(d)
				}
				id, _ := strconv.ParseUint(f[1], 10, 64)
				n, _ := strconv.Atoi(f[2])
				st.mu.Lock()
				st.handled[id]++
				st.mu.Unlock()
				c.Write(fmt.Appendf(nil, "RSP %d %d\n", id, n))
				c.Write(stormBody[:n])
			}
		},
	}
}

// readStorm reads one response and checks it is the one for id.
func readStorm(r *bufio.Reader, id uint64, n int) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("id %d: status line: %w", id, err)
	}
	if want := fmt.Sprintf("RSP %d %d\n", id, n); line != want {
		return fmt.Errorf("id %d: got %q, want %q", id, line, want)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return fmt.Errorf("id %d: body: %w", id, err)
	}
	if !bytes.Equal(body, stormBody[:n]) {
		return fmt.Errorf("id %d: body differs", id)
	}
	return nil
}

// TestSoakResetStorm: workers hammer an echo-like server with a mix of
// normal keep-alive requests, pipelined requests, resets (SO_LINGER 0 then
// close) in the middle of a request and in the middle of a large response,
// half-closes after a request, and connect/close churn. Afterwards: no
// panic, every OnOpen had exactly one OnClose, no conn, fd or goroutine is
// left, every completed request was handled exactly once and answered with
// its own response, no request cut by a reset was handled, and the server
// still serves.
func TestSoakResetStorm(t *testing.T) {
	workers, iters := reactortest.N(16, 64), reactortest.N(100, 400)
	reactortest.RaiseNoFile(t, uint64(4*workers+512))
	forEachBackend(t, func(t *testing.T, b Backend) {
		st := &stormServer{handled: map[uint64]int{}}
		logs := &logBuf{}
		s := start(t, b, st.handler(), WithLogger(slogTo(logs)))
		base := reactortest.Baseline()
		var nextID atomic.Uint64
		var mu sync.Mutex
		completed := map[uint64]bool{} // answered in full
		cut := map[uint64]bool{}       // request line never finished
		var kinds [6]atomic.Int64
		errs := make(chan error, workers)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 3))
				fail := func(err error) { errs <- fmt.Errorf("worker %d: %w", w, err) }
				for range iters {
					c, err := net.Dial("tcp", s.Addr().String())
					if err != nil {
						fail(err)
						return
					}
					tc := c.(*net.TCPConn)
					c.SetDeadline(time.Now().Add(60 * time.Second))
					r := bufio.NewReader(c)
					kind := rng.IntN(len(kinds))
					kinds[kind].Add(1)
					switch kind {
					case 0: // keep-alive requests, then a normal close
						for range 1 + rng.IntN(4) {
							id, n := nextID.Add(1), rng.IntN(4096)
							fmt.Fprintf(c, "REQ %d %d\n", id, n)
							if err := readStorm(r, id, n); err != nil {
								fail(err)
								c.Close()
								return
							}
							mu.Lock()
							completed[id] = true
							mu.Unlock()
						}
						c.Close()
					case 1: // pipelined requests in one write
						var ids []uint64
						var buf []byte
						for range 2 + rng.IntN(6) {
							id := nextID.Add(1)
							ids = append(ids, id)
							buf = fmt.Appendf(buf, "REQ %d %d\n", id, 100)
						}
						c.Write(buf)
						for _, id := range ids {
							if err := readStorm(r, id, 100); err != nil {
								fail(err)
								c.Close()
								return
							}
							mu.Lock()
							completed[id] = true
							mu.Unlock()
						}
						c.Close()
					case 2: // reset in the middle of a request line
						id := nextID.Add(1)
						fmt.Fprintf(c, "REQ %d 10", id) // no newline
						mu.Lock()
						cut[id] = true
						mu.Unlock()
						if rng.IntN(2) == 0 {
							time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
						}
						tc.SetLinger(0)
						c.Close()
					case 3: // reset in the middle of a large response
						id := nextID.Add(1)
						fmt.Fprintf(c, "REQ %d %d\n", id, len(stormBody))
						io.ReadFull(r, make([]byte, 1+rng.IntN(64<<10)))
						tc.SetLinger(0)
						c.Close()
					case 4: // request, then half-close: the answer still arrives, then EOF
						id, n := nextID.Add(1), rng.IntN(64<<10)
						fmt.Fprintf(c, "REQ %d %d\n", id, n)
						tc.CloseWrite()
						if err := readStorm(r, id, n); err != nil {
							fail(err)
							c.Close()
							return
						}
						if extra, err := io.ReadAll(r); err != nil || len(extra) > 0 {
							fail(fmt.Errorf("id %d after half-close: %d extra bytes, %v", id, len(extra), err))
							c.Close()
							return
						}
						mu.Lock()
						completed[id] = true
						mu.Unlock()
						c.Close()
					case 5: // connect/close churn, half of it with a reset
						if rng.IntN(2) == 0 {
							tc.SetLinger(0)
						}
						c.Close()
					}
				}
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

		st.mu.Lock()
		handled := st.handled
		st.handled = map[uint64]int{}
		st.mu.Unlock()
		for id, n := range handled {
			if n != 1 {
				t.Errorf("request %d handled %d times", id, n)
			}
			if cut[id] {
				t.Errorf("request %d was cut by a reset before its newline, but handled", id)
			}
		}
		for id := range completed {
			if handled[id] != 1 {
				t.Errorf("completed request %d handled %d times", id, handled[id])
			}
		}
		if strings.Contains(logs.String(), "panic") {
			t.Errorf("panic logged:\n%s", logs.String())
		}
		t.Logf("%s: %d conns in %v (keep-alive %d, pipelined %d, reset mid-request %d, reset mid-response %d, half-close %d, churn %d); %d requests completed, %d handled",
			soakLeg(t), workers*iters, elapsed.Round(time.Millisecond), kinds[0].Load(), kinds[1].Load(), kinds[2].Load(), kinds[3].Load(),
			kinds[4].Load(), kinds[5].Load(), len(completed), len(handled))
		reactortest.BackToBase(t, base, soakConnsRSSSlack)

		// The server still serves.
		c := dial(t, s)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "REQ 0 5\n")
		if err := readStorm(bufio.NewReader(c), 0, 5); err != nil {
			t.Fatalf("after the storm: %v", err)
		}
	})
}
