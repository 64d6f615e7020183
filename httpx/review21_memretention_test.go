package httpx

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"github.com/ringo-io/ringo/reactor/reactortest"
)

// reviewHeapInuse collects garbage and returns the heap in use.
func reviewHeapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestReview21EngineFreeListRetention: many conns hold an engine at once (each sent a partial
// head), then each gets a 192 KiB response and all close. The engines go back to their loops'
// free lists (up to maxFreeEngines each) with their response buffers (Ctx.resp, engine.out,
// each kept up to 256 KiB), so the heap stays at the peak for ever once the conns are gone.
func TestReview21EngineFreeListRetention(t *testing.T) {
	reactortest.RaiseNoFile(t, 4096)
	body := make([]byte, 192<<10)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: HandlerFunc(func(c *Ctx) { c.Write(body) })}
		addr := startServer(t, b, s)
		warm := dial(t, addr)
		fmt.Fprintf(warm, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.Copy(io.Discard, warm)
		warm.Close()
		reactortest.WaitUntil(t, 5*time.Second, "conns closed", func() bool { return s.NumConns() == 0 })
		base := reviewHeapInuse()

		const n = 600
		conns := make([]net.Conn, n)
		for i := range conns {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(15 * time.Second))
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
		reactortest.WaitUntil(t, 5*time.Second, "conns open", func() bool { return s.NumConns() == n })
		time.Sleep(100 * time.Millisecond) // every partial head read: each conn holds an engine
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := io.WriteString(c, "\r\n"); err != nil {
					errs <- err
					return
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					errs <- err
					return
				}
				m, err := io.Copy(io.Discard, resp.Body)
				if err != nil || m != int64(len(body)) {
					errs <- fmt.Errorf("body %d bytes, %v", m, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// The clients go away with a reset (or the server's IdleTimeout closes them): no
		// OnReadEOF takes an engine back from the free list.
		for _, c := range conns {
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
		reactortest.WaitUntil(t, 10*time.Second, "conns closed", func() bool { return s.NumConns() == 0 })
		time.Sleep(100 * time.Millisecond)
		after := reviewHeapInuse()
		grew := int64(after) - int64(base)
		t.Logf("heap in use: baseline %s, after %d conns closed %s (+%s)", reactortest.MiB(int64(base)), n, reactortest.MiB(int64(after)), reactortest.MiB(grew))
		// Before the fix: +197 MiB (512 free engines of 2 loops, about 400 KiB each).
		if grew > 32<<20 {
			t.Errorf("heap in use grew by %s after all conns closed", reactortest.MiB(grew))
		}
	})
}

// TestReview21PoolWorkerKeepsLastJob: FromHTTP handlers on locked loops run on pool workers. 300
// requests at once, each answered with 1 MiB, then the conns close. An idle worker waits (up to
// two idle periods, default 10 s each) with its last job still reachable (pool.run's f, read by
// its deferred func), and the job holds the response buffer (responseWriter.raw): the heap stayed
// at the spike's peak (about 1 MiB per worker) until the workers retired.
func TestReview21PoolWorkerKeepsLastJob(t *testing.T) {
	reactortest.RaiseNoFile(t, 4096)
	big := make([]byte, 1<<20)
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		release := make(chan struct{})
		var started sync.WaitGroup
		const n = 300
		started.Add(n)
		h := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			started.Done()
			<-release // all n handlers run at once: n workers
			w.Write(big)
		}), WithWorkerIdleTimeout(time.Minute))
		s := &Server{Handler: h, Reactor: []reactor.Option{reactor.WithParkedLoops(false)}}
		addr := startServer(t, b, s)
		base := reviewHeapInuse()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(15 * time.Second))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					errs <- err
					return
				}
				if m, err := io.Copy(io.Discard, resp.Body); err != nil || m != int64(len(big)) {
					errs <- fmt.Errorf("body %d bytes, %v", m, err)
				}
			}()
		}
		waited := make(chan struct{})
		go func() { started.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatal("handlers did not all start")
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		reactortest.WaitUntil(t, 10*time.Second, "conns closed", func() bool { return s.NumConns() == 0 })
		after := reviewHeapInuse()
		grew := int64(after) - int64(base)
		t.Logf("heap in use: baseline %s, after %d requests of 1 MiB, workers idle %s (+%s)", reactortest.MiB(int64(base)), n, reactortest.MiB(int64(after)), reactortest.MiB(grew))
		// The reactor's pools (bounded, about 33 MiB a loop) and the loops' spares aside,
		// idle workers must not keep their last responses (300 MiB before the fix).
		if grew > 80<<20 {
			t.Errorf("heap in use grew by %s with the conns gone and the workers idle", reactortest.MiB(grew))
		}
	})
}
