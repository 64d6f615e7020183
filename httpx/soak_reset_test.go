package httpx

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"github.com/ringo-io/ringo/reactor/reactortest"
)

var soakBig = bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB

// TestSoakResetStormHTTP: workers hammer the server with a mix of normal
// keep-alive requests, resets (SO_LINGER 0 then close) in the middle of a
// request head, in the middle of a request body, while the handler runs
// and in the middle of a 1 MiB response, half-closes after a request, and
// connect/close churn; on the fast path and on FromHTTP (whose handlers
// read streamed bodies and sleep a little, so resets hit running
// handlers). Afterwards: no panic logged, every completed request was
// handled exactly once and answered with its own body, the server still
// serves, and no conn, fd or goroutine (pool workers included) is left.
func TestSoakResetStormHTTP(t *testing.T) {
	workers, iters := reactortest.N(16, 64), reactortest.N(60, 300)
	reactortest.RaiseNoFile(t, uint64(4*workers+512))
	for _, path := range []string{"fast", "fromhttp"} {
		t.Run(path, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				soakResetStorm(t, b, path == "fast", workers, iters)
			})
		})
	}
}

func soakResetStorm(t *testing.T, b reactor.Backend, fast bool, workers, iters int) {
	var mu sync.Mutex
	handled := map[string]int{}
	record := func(id string) {
		mu.Lock()
		handled[id]++
		mu.Unlock()
	}
	// /r/<id>/<n>: n bytes of soakBig. /body/<id>: the body's length. /ok/...: the path.
	s := &Server{}
	if fast {
		s.Handler = HandlerFunc(func(c *Ctx) {
			p := string(c.Path())
			record(p)
			if strings.HasPrefix(p, "/body/") {
				c.WriteString(strconv.Itoa(len(c.Body())))
				return
			}
			if strings.HasPrefix(p, "/ok/") {
				c.WriteString(p)
				return
			}
			f := strings.Split(p, "/")
			n, _ := strconv.Atoi(f[len(f)-1])
			c.Write(soakBig[:n])
		})
	} else {
		s.Handler = FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			record(p)
			if strings.HasPrefix(p, "/body/") {
				n, _ := io.Copy(io.Discard, r.Body)
				io.WriteString(w, strconv.Itoa(int(n)))
				return
			}
			if strings.HasPrefix(p, "/ok/") {
				io.WriteString(w, p)
				return
			}
			time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
			f := strings.Split(p, "/")
			n, _ := strconv.Atoi(f[len(f)-1])
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(soakBig[:n])
		}), WithWorkerIdleTimeout(50*time.Millisecond))
	}
	logs := &soakLogBuf{}
	s.Logger = slog.New(slog.NewTextHandler(logs, nil))
	base := reactortest.Baseline()
	addr := startServer(t, b, s)

	var nextID atomic.Uint64
	var cmu sync.Mutex
	completed := map[string]bool{}
	var kinds [7]atomic.Int64
	errs := make(chan error, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			fail := func(err error) { errs <- fmt.Errorf("worker %d: %w", w, err) }
			// get sends one request and checks its response.
			get := func(c net.Conn, r *bufio.Reader, n int) bool {
				p := fmt.Sprintf("/r/%d/%d", nextID.Add(1), n)
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", p)
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					fail(fmt.Errorf("%s: %w", p, err))
					return false
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, soakBig[:n]) {
					fail(fmt.Errorf("%s: status %d, %d bytes, %v", p, resp.StatusCode, len(body), err))
					return false
				}
				cmu.Lock()
				completed[p] = true
				cmu.Unlock()
				return true
			}
			for range iters {
				c, err := net.Dial("tcp", addr)
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
				case 0: // keep-alive requests, normal close
					for range 1 + rng.IntN(4) {
						if !get(c, r, rng.IntN(8192)) {
							break
						}
					}
				case 1: // reset in the middle of a head
					fmt.Fprintf(c, "GET /r/%d/10 HTTP/1.1\r\nHost: so", nextID.Add(1))
					tc.SetLinger(0)
				case 2: // reset in the middle of a body
					fmt.Fprintf(c, "POST /body/%d HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n\r\n", nextID.Add(1))
					c.Write(soakBig[:1+rng.IntN(50000)])
					time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
					tc.SetLinger(0)
				case 3: // reset while the handler may run
					fmt.Fprintf(c, "GET /r/%d/100 HTTP/1.1\r\nHost: soak\r\n\r\n", nextID.Add(1))
					time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
					tc.SetLinger(0)
				case 4: // reset in the middle of a large response
					fmt.Fprintf(c, "GET /r/%d/%d HTTP/1.1\r\nHost: soak\r\n\r\n", nextID.Add(1), len(soakBig))
					io.ReadFull(r, make([]byte, 1+rng.IntN(64<<10)))
					tc.SetLinger(0)
				case 5: // request, half-close: answered, then EOF
					p := fmt.Sprintf("/r/%d/%d", nextID.Add(1), rng.IntN(8192))
					fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", p)
					tc.CloseWrite()
					resp, err := http.ReadResponse(r, nil)
					if err != nil {
						fail(fmt.Errorf("%s after half-close: %w", p, err))
						break
					}
					io.Copy(io.Discard, resp.Body)
					if extra, err := io.ReadAll(r); len(extra) > 0 || err != nil {
						fail(fmt.Errorf("%s after half-close: %d extra bytes, %v", p, len(extra), err))
						break
					}
					cmu.Lock()
					completed[p] = true
					cmu.Unlock()
				case 6: // churn
					if rng.IntN(2) == 0 {
						tc.SetLinger(0)
					}
				}
				c.Close()
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
	mu.Lock()
	for p, n := range handled {
		if n != 1 {
			t.Errorf("%s handled %d times", p, n)
		}
	}
	for p := range completed {
		if handled[p] != 1 {
			t.Errorf("completed %s handled %d times", p, handled[p])
		}
	}
	nHandled := len(handled)
	mu.Unlock()
	if n := logs.count("panic"); n > 0 {
		t.Errorf("%d panics logged", n)
	}
	t.Logf("%s: %d conns in %v (keep-alive %d, reset mid-head %d, mid-body %d, during handler %d, mid-response %d, half-close %d, churn %d); %d requests completed, %d handled",
		b, workers*iters, elapsed.Round(time.Millisecond), kinds[0].Load(), kinds[1].Load(), kinds[2].Load(), kinds[3].Load(),
		kinds[4].Load(), kinds[5].Load(), kinds[6].Load(), len(completed), nHandled)

	// The server still serves.
	if lat, err := normalLoad(addr, 2, 10, 10*time.Second); err != nil || len(lat) != 20 {
		t.Fatalf("after the storm: %v", err)
	}
	s.Close()
	reactortest.BackToBase(t, base, soakRSSSlack)
}
