package httpx

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"github.com/ringo-io/ringo/reactor/reactortest"
)

// TestSoakAdapterContainment: on the net/http path (FromHTTP), handlers
// that block (256 under RINGO_SOAK=1, 32 otherwise, fewer than the pool's
// workers) and a stream of requests whose handler panics (each answered
// 500, its connection closed) must stay contained to their requests:
// normal keep-alive clients keep being answered, each request within its
// 5 s deadline (p99 with and without the trouble is logged), every panic
// is recovered and logged, the blocked handlers answer once released, and
// afterwards no conn, fd or goroutine is left.
func TestSoakAdapterContainment(t *testing.T) {
	slow := reactortest.N(32, 256)
	panickers, panicsEach := reactortest.N(4, 8), reactortest.N(25, 250)
	normalClients, normalReqs := 8, reactortest.N(100, 500)
	const reqDeadline = 5 * time.Second
	reactortest.RaiseNoFile(t, uint64(2*slow+4*normalClients+4*panickers+512))
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		release := make(chan struct{})
		var slowStarted atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasPrefix(r.URL.Path, "/panic/"):
				io.WriteString(w, "never sent")
				panic("soak boom " + r.URL.Path)
			case strings.HasPrefix(r.URL.Path, "/slow/"):
				slowStarted.Add(1)
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				io.WriteString(w, "slow done "+r.URL.Path)
			default:
				io.WriteString(w, r.URL.Path)
			}
		})
		logs := &soakLogBuf{}
		s := &Server{Handler: FromHTTP(h, WithWorkerIdleTimeout(50*time.Millisecond)), Logger: slog.New(slog.NewTextHandler(logs, nil))}
		addr := startServer(t, b, s)
		base := reactortest.Baseline()

		calm, err := normalLoad(addr, normalClients, normalReqs, reqDeadline)
		if err != nil {
			t.Fatal(err)
		}

		// Blocked handlers.
		slowConns := make([]net.Conn, slow)
		for i := range slowConns {
			c := dial(t, addr)
			c.SetDeadline(time.Now().Add(2 * time.Minute))
			fmt.Fprintf(c, "GET /slow/%d HTTP/1.1\r\nHost: soak\r\n\r\n", i)
			slowConns[i] = c
		}
		reactortest.WaitUntil(t, 30*time.Second, "every slow handler running", func() bool { return slowStarted.Load() == int64(slow) })

		// Panicking handlers, concurrently with the normal load.
		var panics atomic.Int64
		panicErrs := make(chan error, panickers)
		var pwg sync.WaitGroup
		for k := range panickers {
			pwg.Add(1)
			go func() {
				defer pwg.Done()
				for i := range panicsEach {
					c, err := net.DialTimeout("tcp", addr, reqDeadline)
					if err != nil {
						panicErrs <- err
						return
					}
					c.SetDeadline(time.Now().Add(reqDeadline))
					fmt.Fprintf(c, "GET /panic/%d/%d HTTP/1.1\r\nHost: soak\r\n\r\n", k, i)
					out, err := io.ReadAll(c)
					c.Close()
					if err != nil && !soakIsReset(err) {
						panicErrs <- fmt.Errorf("panic request: %w (got %q)", err, out)
						return
					}
					if !strings.HasPrefix(string(out), "HTTP/1.1 500 ") || strings.Contains(string(out), "never sent") || strings.Count(string(out), "HTTP/1.1 ") != 1 {
						panicErrs <- fmt.Errorf("panic request answered %q", out)
						return
					}
					panics.Add(1)
				}
			}()
		}
		var troubled []time.Duration
		for {
			lat, err := normalLoad(addr, normalClients, normalReqs, reqDeadline)
			if err != nil {
				t.Fatal(err)
			}
			troubled = append(troubled, lat...)
			if panics.Load() == int64(panickers*panicsEach) || len(troubled) >= 20*normalClients*normalReqs {
				break
			}
			select {
			case err := <-panicErrs:
				t.Fatal(err)
			default:
			}
		}
		pwg.Wait()
		close(panicErrs)
		for err := range panicErrs {
			t.Fatal(err)
		}

		// The blocked handlers answer once released.
		close(release)
		for i, c := range slowConns {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("slow %d: %v", i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			if want := fmt.Sprintf("slow done /slow/%d", i); resp.StatusCode != 200 || string(body) != want {
				t.Fatalf("slow %d: %d %q", i, resp.StatusCode, body)
			}
			c.Close()
		}
		logged := logs.count("soak boom /panic/")
		t.Logf("%s: %d blocked handlers, %d panics (%d logged)", b, slow, panics.Load(), logged)
		t.Logf("%s: normal clients, calm:         %s", b, soakLatencies(calm))
		t.Logf("%s: normal clients, with trouble: %s", b, soakLatencies(troubled))
		if logged < int(panics.Load()) {
			t.Errorf("%d panics, %d logged", panics.Load(), logged)
		}
		reactortest.WaitUntil(t, 30*time.Second, "all conns closed", func() bool { return s.NumConns() == 0 })
		reactortest.BackToBase(t, base, soakRSSSlack)
	})
}
