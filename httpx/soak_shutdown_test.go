package httpx

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"github.com/ringo-io/ringo/reactor/reactortest"
)

// TestSoakGracefulShutdown: clients (256 under RINGO_SOAK=1, 32
// otherwise) send keep-alive requests (some pipelined in pairs) as fast as
// they are answered, redialing when a connection closes, while Shutdown is
// called. Each client records what it sent and what it got; the handler
// records what it served. Then:
//   - every request the server handled was answered to its client, in
//     order, exactly once, with its own body (nothing accepted is lost);
//   - no response is partial, none answers a request that was not sent;
//   - no request is handled after Shutdown returned, and no dial after it
//     succeeds (none after);
//   - no conn, fd or goroutine is left.
//
// Run on the fast path and on FromHTTP (whose handlers sleep up to 2 ms,
// so some are running when Shutdown is called).
func TestSoakGracefulShutdown(t *testing.T) {
	clients := reactortest.N(32, 256)
	loadFor := reactortest.N(300*time.Millisecond, 3*time.Second)
	reactortest.RaiseNoFile(t, uint64(4*clients+512))
	for _, path := range []string{"fast", "fromhttp"} {
		t.Run(path, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				soakShutdown(t, b, path == "fast", clients, loadFor)
			})
		})
	}
}

func soakShutdown(t *testing.T, b reactor.Backend, fast bool, clients int, loadFor time.Duration) {
	var mu sync.Mutex
	served := map[string]time.Time{} // request id -> when its handler ran
	record := func(id string) {
		mu.Lock()
		if _, dup := served[id]; dup {
			t.Errorf("request %s handled twice", id)
		}
		served[id] = time.Now()
		mu.Unlock()
	}
	s := &Server{}
	if fast {
		s.Handler = HandlerFunc(func(c *Ctx) {
			id := string(c.Path())
			record(id)
			c.WriteString(id)
		})
	} else {
		s.Handler = FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			record(r.URL.Path)
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			io.WriteString(w, r.URL.Path)
		}), WithWorkerIdleTimeout(50*time.Millisecond))
	}
	base := reactortest.Baseline() // before the server: Shutdown leaves nothing of it
	addr := startServer(t, b, s)

	type result struct {
		sent, answered    int
		partial, mismatch []string
		answeredIDs       []string
		dialsAfter        int // dials begun after Shutdown returned that succeeded
	}
	results := make([]result, clients)
	var shutdownDone sync.WaitGroup
	shutdownDone.Add(1)
	var returned time.Time
	var returnedMu sync.Mutex
	returnedAt := func() time.Time { returnedMu.Lock(); defer returnedMu.Unlock(); return returned }
	var wg sync.WaitGroup
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[k]
			rng := rand.New(rand.NewPCG(uint64(k), 9))
			seq := 0
			for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
				// Read before dialing: a dial that completed before Shutdown returned may
				// be seen by this goroutine only afterwards, and is no fault.
				shutDown := !returnedAt().IsZero()
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					return // refused: the server is gone
				}
				if shutDown {
					res.dialsAfter++
				}
				c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				var pending []string
				for {
					n := 1 + rng.IntN(2) // some requests pipelined in pairs
					var buf []byte
					for range n {
						id := fmt.Sprintf("/c%d/r%d", k, seq)
						seq++
						pending = append(pending, id)
						buf = fmt.Appendf(buf, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", id)
					}
					if _, err := c.Write(buf); err == nil {
						res.sent += n
					} // else the server closed: the reads below see it
					ok := true
					for len(pending) > 0 {
						resp, err := http.ReadResponse(br, nil)
						if err != nil {
							ok = false // closed: the rest was not accepted
							if err != io.EOF && err != io.ErrUnexpectedEOF && !soakIsReset(err) {
								res.partial = append(res.partial, pending[0]+": "+err.Error())
							}
							break
						}
						body, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil {
							res.partial = append(res.partial, pending[0]+": body: "+err.Error())
							ok = false
							break
						}
						if resp.StatusCode != 200 || string(body) != pending[0] {
							res.mismatch = append(res.mismatch, fmt.Sprintf("%s: %d %q", pending[0], resp.StatusCode, body))
						}
						res.answered++
						res.answeredIDs = append(res.answeredIDs, pending[0])
						pending = pending[1:]
						if resp.Close {
							ok = false
							break
						}
					}
					if !ok {
						break
					}
				}
				// After a close (or a "Connection: close" response), nothing
				// more may arrive.
				if extra, _ := io.ReadAll(br); len(extra) > 0 {
					res.mismatch = append(res.mismatch, fmt.Sprintf("bytes after close: %q", extra))
				}
				c.Close()
			}
		}()
	}
	time.Sleep(loadFor)
	called := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	returnedMu.Lock()
	returned = time.Now()
	returnedMu.Unlock()
	shutdownDone.Done()
	wg.Wait()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a dial succeeded after Shutdown returned")
	}

	answered := map[string]bool{}
	var sent, got, dialsAfter int
	for k, r := range results {
		sent += r.sent
		got += r.answered
		dialsAfter += r.dialsAfter
		for _, p := range r.partial {
			t.Errorf("client %d: partial response: %s", k, p)
		}
		for _, m := range r.mismatch {
			t.Errorf("client %d: wrong response: %s", k, m)
		}
		for _, id := range r.answeredIDs {
			if answered[id] {
				t.Errorf("request %s answered twice", id)
			}
			answered[id] = true
		}
	}
	mu.Lock()
	var lost []string
	var afterReturn, afterCall int
	for id, at := range served {
		if !answered[id] {
			lost = append(lost, id)
		}
		if at.After(returned) {
			afterReturn++
		}
		if at.After(called) {
			afterCall++
		}
	}
	for id := range answered {
		if _, ok := served[id]; !ok {
			t.Errorf("request %s answered but never handled", id)
		}
	}
	nServed := len(served)
	mu.Unlock()
	t.Logf("%s: %d clients sent %d requests, %d handled, %d answered; Shutdown took %v; %d handlers ran after the call (in progress or already read), %d after it returned; %d dials begun after it returned succeeded",
		b, clients, sent, nServed, got, returned.Sub(called).Round(time.Millisecond), afterCall, afterReturn, dialsAfter)
	if len(lost) > 0 {
		t.Errorf("%d requests handled but never answered, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
	if afterReturn > 0 {
		t.Errorf("%d requests handled after Shutdown returned", afterReturn)
	}
	if dialsAfter > 0 {
		t.Errorf("%d dials begun after Shutdown returned succeeded", dialsAfter)
	}
	if nServed == 0 {
		t.Fatal("no request served: the load never ran")
	}
	reactortest.BackToBase(t, base, soakRSSSlack)
}
