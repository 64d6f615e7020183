package httpx

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// FromHTTP handlers running and queued (WithMaxHandlers) when Shutdown begins, on parked and
// locked loops (the pool), plus a keep-alive conn with half a head and a pipelined pair: every
// request the server took before Shutdown is answered once its handler returns, each response
// with "Connection: close" (for the pipelined pair, the one in progress; net/http answers no
// later one either), then the connection ends with EOF, and Shutdown returns nil only after.
func TestReview21ShutdownRunningAndQueuedHandlers(t *testing.T) {
	for _, parked := range []bool{true, false} {
		t.Run(map[bool]string{true: "parked", false: "locked"}[parked], func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b reactor.Backend) {
				const slow = 5 // with the pipelined one: 4 running, 2 queued, then the half head (the queue holds 4)
				release := make(chan struct{})
				var running atomic.Int32
				s := &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/slow" {
						running.Add(1)
						<-release
					}
					io.WriteString(w, r.URL.Path)
				}), WithMaxHandlers(4), WithWorkerIdleTimeout(50*time.Millisecond)),
					Reactor: []reactor.Option{reactor.WithParkedLoops(parked)}}
				addr := startServer(t, b, s)
				var cs []net.Conn
				for range slow {
					c := dial(t, addr)
					io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
					cs = append(cs, c)
				}
				pipe := dial(t, addr)
				io.WriteString(pipe, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
				half := dial(t, addr)
				io.WriteString(half, "GET /half HTTP/1.1\r\nHo")
				for dl := time.Now().Add(3 * time.Second); running.Load() < 4 && time.Now().Before(dl); {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond)
				sd := make(chan error, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					sd <- s.Shutdown(ctx)
				}()
				time.Sleep(50 * time.Millisecond)
				io.WriteString(half, "st: a\r\n\r\n")
				select {
				case err := <-sd:
					t.Fatalf("Shutdown returned %v with handlers running", err)
				case <-time.After(50 * time.Millisecond):
				}
				close(release)
				check := func(name string, c net.Conn, path string) {
					c.SetDeadline(time.Now().Add(5 * time.Second))
					br := bufio.NewReader(c)
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
					body, err := io.ReadAll(resp.Body)
					if err != nil || string(body) != path || !resp.Close {
						t.Errorf("%s: body %q (%v), close %v", name, body, err, resp.Close)
					}
					if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
						t.Errorf("%s: after the response %q, %v", name, rest, err)
					}
				}
				for i, c := range cs {
					check("slow"+string(rune('0'+i)), c, "/slow")
				}
				check("pipelined", pipe, "/slow")
				check("half head", half, "/half")
				select {
				case err := <-sd:
					if err != nil {
						t.Fatalf("Shutdown: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("Shutdown did not return")
				}
			})
		})
	}
}
