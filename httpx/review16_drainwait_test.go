package httpx

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// A client pipelines requests for large FromHTTP responses and then reads nothing. No request
// is in progress while the next one waits for the output to drain (stDrainWait), so IdleTimeout
// must close the connection, as it does on the fast path and as it did before the drain wait
// (Server doc: "a client that reads none of a queued response for this long is idle too").
func TestAdapterDrainWaitIdleTimeout(t *testing.T) {
	const n, size = 3000, 3000
	body := strings.Repeat("r", size)
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		var ran atomic.Int32
		s := &Server{IdleTimeout: 300 * time.Millisecond,
			Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if ran.Add(1) == 1 {
					smallSndbuf(w.(*responseWriter).ar.t.(*connTransport).c.Fd())
				}
				io.WriteString(w, body)
			}), WithWorkerIdleTimeout(50*time.Millisecond))}
		addr := startServer(t, b, s)
		c := dialSmallRcvbuf(t, addr)
		reqs := numberedGets(n)
		if _, err := io.WriteString(c, reqs); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // reads nothing: idle for far longer than IdleTimeout
		before := ran.Load()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got := countResponses(c, n)
		if got == n {
			t.Fatalf("all %d responses arrived after the client read nothing for 2 s: IdleTimeout (300 ms) did not close the connection (%d handlers had run when it began reading)", n, before)
		}
		t.Logf("%d of %d responses before the close (%d handlers ran)", got, n, before)
	})
}

// Shutdown while pipelined requests wait for the output to drain: the responses queued go out
// in order, the waiting requests are not served, and Shutdown returns once the client read.
func TestAdapterDrainWaitShutdown(t *testing.T) {
	const n, size = 3000, 3000
	body := strings.Repeat("r", size-8)
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		var ran atomic.Int32
		s, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran.Add(1)
			fmt.Fprintf(w, "%08s%s", r.URL.Query().Get("i"), body)
		}))
		c := dialSmallRcvbuf(t, addr)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		reqs := numberedGets(n)
		if _, err := io.WriteString(c, reqs); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- s.Shutdown(ctx)
		}()
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v while responses were queued", err)
		default:
		}
		br := bufio.NewReaderSize(c, 128<<10)
		got := 0
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				break
			}
			bb, err := io.ReadAll(resp.Body)
			if err != nil || string(bb[:8]) != fmt.Sprintf("%08d", got) {
				t.Fatalf("response %d: %q %v", got, bb[:min(8, len(bb))], err)
			}
			got++
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Shutdown did not return after the client read %d responses", got)
		}
		t.Logf("%d responses, %d handlers ran", got, ran.Load())
	})
}

// Control: the fast path under the same client closes the connection at IdleTimeout.
func TestFastDrainWaitIdleTimeoutControl(t *testing.T) {
	const n, size = 3000, 3000
	body := []byte(strings.Repeat("r", size))
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		var ran atomic.Int32
		s := &Server{IdleTimeout: 300 * time.Millisecond, Handler: HandlerFunc(func(c *Ctx) {
			if ran.Add(1) == 1 {
				smallSndbuf(c.e.t.(*connTransport).c.Fd())
			}
			c.Write(body)
		})}
		addr := startServer(t, b, s)
		c := dialSmallRcvbuf(t, addr)
		reqs := numberedGets(n)
		io.WriteString(c, reqs)
		time.Sleep(2 * time.Second)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got := countResponses(c, n)
		if got == n {
			t.Fatalf("fast path: all %d responses arrived", n)
		}
		t.Logf("fast path: %d of %d responses before the close", got, n)
	})
}

// Half-close after pipelined requests and a partial one, while the output is blocked: every
// complete request is answered in order, then the partial one gets 400.
func TestAdapterDrainWaitEOFPartial(t *testing.T) {
	const n, size = 3000, 3000
	body := strings.Repeat("r", size-8)
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%08s%s", r.URL.Query().Get("i"), body)
		}))
		c := dialSmallRcvbuf(t, addr)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		reqs := numberedGets(n) + "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
		io.WriteString(c, reqs)
		c.(interface{ CloseWrite() error }).CloseWrite()
		time.Sleep(500 * time.Millisecond)
		br := bufio.NewReaderSize(c, 128<<10)
		for i := range n {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			bb, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(bb[:8]) != fmt.Sprintf("%08d", i) {
				t.Fatalf("response %d: %d %q", i, resp.StatusCode, bb[:min(8, len(bb))])
			}
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("partial request: %v %v", resp, err)
		}
	})
}

// countResponses reads up to n responses from c and returns how many arrived whole before an
// error (a close).
func countResponses(c io.Reader, n int) int {
	br := bufio.NewReaderSize(c, 128<<10)
	got := 0
	for got < n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			break
		}
		got++
	}
	return got
}
