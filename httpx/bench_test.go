package httpx

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

var benchGet = []byte("GET /plaintext HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")

// benchMinimal is the request of the bench suite's load generator (and of wrk).
var benchMinimal = []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n")

func benchHello(c *Ctx) {
	c.SetContentType("text/plain")
	c.WriteString("Hello, World!")
}

// BenchmarkEngine measures parse + handler + response per request on the fast path, without
// any I/O (the transport drops the output).
func BenchmarkEngine(b *testing.B) {
	for _, bc := range []struct {
		name  string
		req   []byte
		depth int
	}{{"unpipelined", benchGet, 1}, {"pipelined16", benchGet, 16}, {"minimal16", benchMinimal, 16},
		// two heads in turn: the loop's head cache misses every time
		{"alternating16", append(append([]byte(nil), benchGet...), benchMinimal...), 8}} {
		b.Run(bc.name, func(b *testing.B) {
			in := bytes.Repeat(bc.req, bc.depth)
			s := &sinkConn{}
			e := newEngine(testConfig(HandlerFunc(benchHello)), s, newLoopCache(fixedNow))
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			b.ResetTimer()
			for i := 0; i < b.N; i += bc.depth {
				e.feed(in)
			}
		})
	}
}

// asyncBenchConn is a transport with a loop goroutine; done is signalled on every write.
type asyncBenchConn struct {
	funcs chan func()
	done  chan struct{}
}

func (a *asyncBenchConn) write(b []byte)              { a.done <- struct{}{} }
func (a *asyncBenchConn) close()                      {}
func (a *asyncBenchConn) abort()                      {}
func (a *asyncBenchConn) pauseReading()               {}
func (a *asyncBenchConn) resumeReading()              {}
func (a *asyncBenchConn) buffered() int               { return 0 }
func (a *asyncBenchConn) writeBlocked() bool          { return false }
func (a *asyncBenchConn) execute(f func()) bool       { a.funcs <- f; return true }
func (a *asyncBenchConn) whenDrained(n int, f func()) { f() }
func (a *asyncBenchConn) remoteAddr() net.Addr        { return memRemote }
func (a *asyncBenchConn) localAddr() net.Addr         { return memLocal }
func (a *asyncBenchConn) touch()                      {}

// BenchmarkFromHTTP measures one request through the net/http adapter: parse on the loop,
// *http.Request construction, pool hand-off, handler, ResponseWriter, hand-back to the loop.
func BenchmarkFromHTTP(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	a := &asyncBenchConn{funcs: make(chan func(), 64), done: make(chan struct{}, 1)}
	e := newEngine(testConfig(FromHTTP(h, WithWorkerIdleTimeout(100*time.Millisecond))), a, newLoopCache(fixedNow))
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case f := <-a.funcs:
				f()
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.funcs <- func() { e.feed(benchGet) }
		<-a.done
	}
}

// BenchmarkServer measures requests over a real loopback connection (one client connection,
// keep-alive), per backend: the fast path unpipelined and pipelined x16, and the FromHTTP path.
// The figures include the client's work on the same machine.
func BenchmarkServer(b *testing.B) {
	nethello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	for _, backend := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		for _, bc := range []struct {
			name  string
			h     Handler
			depth int
		}{
			{"fast", HandlerFunc(benchHello), 1},
			{"fast-pipelined16", HandlerFunc(benchHello), 16},
			{"fromhttp", FromHTTP(nethello), 1},
		} {
			b.Run(string(backend)+"/"+bc.name, func(b *testing.B) {
				s := &Server{Handler: bc.h, Logger: quietLogger(),
					Reactor: []reactor.Option{reactor.WithBackend(backend), reactor.WithLoops(1)}}
				if err := s.Listen("tcp", "127.0.0.1:0"); err != nil {
					b.Skip(err)
				}
				if err := s.Start(); err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				c, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				// One exchange first: the connection is open and warm.
				c.Write(benchGet)
				r := bufio.NewReaderSize(c, 64<<10)
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				req := bytes.Repeat(benchGet, bc.depth)
				buf := make([]byte, 64<<10)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i += bc.depth {
					if _, err := c.Write(req); err != nil {
						b.Fatal(err)
					}
					for n := 0; n < bc.depth; {
						got, err := r.Read(buf)
						if err != nil {
							b.Fatal(err)
						}
						n += bytes.Count(buf[:got], []byte("Hello, World!"))
					}
				}
			})
		}
	}
}
