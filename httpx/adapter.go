package httpx

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// Adapter runs standard net/http handlers on ringo. Create it with FromHTTP and put it in
// Server.Handler.
//
// How it works: the loop parses and validates each request exactly as on the fast path, builds a
// real *http.Request (method, URL, Header, Host, RemoteAddr, RequestURI, ContentLength,
// TransferEncoding, Close, Trailer; TLS is nil) and hands it to a worker goroutine from a
// bounded pool. The body is streamed: the loop decodes it and feeds a pipe the handler reads
// from; when the pipe holds more than the body buffer, the loop pauses reading from that
// connection (reactor.Conn.PauseReading) until the handler has read it down. "100 Continue" is
// sent when the handler first reads the body. The request's Context is cancelled when the
// client goes away, when the server closes, and after the handler returns.
//
// The ResponseWriter implements http.Flusher and trailers (the "Trailer" header and
// http.TrailerPrefix). Without a Content-Length the body is buffered up to the response buffer
// size: a response that fits gets a Content-Length, a larger one (or one that is flushed) is sent
// chunked (HTTP/1.1) or delimited by closing the connection (HTTP/1.0). A missing Content-Type
// is sniffed with http.DetectContentType. Each flush waits until the loop has queued the bytes
// and the connection's send queue is below its mark, so a fast writer is slowed to the client.
//
// Ordering: one request per connection is in flight; bytes of later pipelined requests are
// held unparsed until the response is complete, so responses leave in request order.
//
// Panics: a panic in a handler is recovered and logged (except http.ErrAbortHandler); the
// client gets a 500 if no header was sent yet, and the connection is closed. Other connections
// are not affected.
//
// Not supported: http.Hijacker (there is no net.Conn under a ringo connection: the
// ResponseWriter does not implement it, so http.ResponseController.Hijack returns
// http.ErrNotSupported), http.Pusher, 101 Switching Protocols, http.ResponseController deadlines
// (SetReadDeadline/SetWriteDeadline return http.ErrNotSupported; use Server timeouts),
// CloseNotifier, TLS (Request.TLS is always nil), HTTP/2. A client that half-closes its side
// (shutdown(SHUT_WR)) while a handler runs is treated as gone: the reactor closes the
// connection at EOF, the request's Context is cancelled and the response is dropped (fast-path
// responses are produced before the EOF is seen and are sent).
//
// Pool goroutines outlive Server.Close by up to the worker idle timeout (WithWorkerIdleTimeout)
// and then exit; a handler that never returns keeps its goroutine.
//
// Overhead: against the fast path, each request costs the *http.Request and its Header map and
// strings (about 10-20 allocations, depending on the number of fields), a pool hand-off to a
// worker goroutine and back to the loop (two goroutine wake-ups), and one copy of the body and
// of the response. Requests of one connection are not pipelined through the handler.
type Adapter struct {
	h           http.Handler
	pool        *pool
	bodyBuffer  int
	respBuffer  int
	baseContext func() context.Context
}

func (*Adapter) isHandler() {}

// AdapterOption configures FromHTTP.
type AdapterOption func(*Adapter)

// WithMaxHandlers bounds the number of handlers running at once (default 256 * GOMAXPROCS).
// Requests beyond it wait in a queue of the same size; beyond that they get 503 and the
// connection closes.
func WithMaxHandlers(n int) AdapterOption {
	return func(a *Adapter) {
		if n > 0 {
			a.pool = newPool(n, a.pool.idle)
		}
	}
}

// WithWorkerIdleTimeout sets how long an idle pool goroutine waits for work before it exits
// (default 10s).
func WithWorkerIdleTimeout(d time.Duration) AdapterOption {
	return func(a *Adapter) {
		if d > 0 {
			a.pool = newPool(a.pool.max, d)
		}
	}
}

// WithBodyBuffer sets how many request body bytes may wait for the handler before the loop
// stops reading from the connection (default 64 KiB).
func WithBodyBuffer(n int) AdapterOption {
	return func(a *Adapter) {
		if n > 0 {
			a.bodyBuffer = n
		}
	}
}

// WithResponseBuffer sets how many response body bytes are buffered before the header is sent
// (a response that fits gets a Content-Length) and between sends (default 4 KiB).
func WithResponseBuffer(n int) AdapterOption {
	return func(a *Adapter) {
		if n > 0 {
			a.respBuffer = n
		}
	}
}

// WithBaseContext sets the function that gives every request's parent context
// (default context.Background).
func WithBaseContext(f func() context.Context) AdapterOption {
	return func(a *Adapter) {
		if f != nil {
			a.baseContext = f
		}
	}
}

// FromHTTP returns an Adapter that serves h (see Adapter).
func FromHTTP(h http.Handler, opts ...AdapterOption) *Adapter {
	a := &Adapter{
		h:           h,
		pool:        newPool(256*runtime.GOMAXPROCS(0), 10*time.Second),
		bodyBuffer:  64 << 10,
		respBuffer:  4 << 10,
		baseContext: context.Background,
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// pool runs jobs on at most max goroutines, started on demand and stopped after idle time
// without work. Safe from any goroutine.
type pool struct {
	max  int
	idle time.Duration
	jobs chan func()

	mu      sync.Mutex // guards workers and waiting
	workers int        // goroutines alive
	waiting int        // goroutines blocked waiting for a job
}

func newPool(max int, idle time.Duration) *pool {
	return &pool{max: max, idle: idle, jobs: make(chan func(), max)}
}

// submit queues f; false if the queue is full.
func (p *pool) submit(f func()) bool {
	select {
	case p.jobs <- f:
	default:
		return false
	}
	p.mu.Lock()
	// A job that no waiting goroutine will take gets a new goroutine (while under max). A
	// worker that times out re-checks the queue under mu before exiting, so no job is stranded.
	if p.waiting < len(p.jobs) && p.workers < p.max {
		p.workers++
		go p.worker()
	}
	p.mu.Unlock()
	return true
}

func (p *pool) worker() {
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		p.mu.Lock()
		p.waiting++
		p.mu.Unlock()
		select {
		case f := <-p.jobs:
			p.mu.Lock()
			p.waiting--
			p.mu.Unlock()
			f()
			t.Reset(p.idle)
		case <-t.C:
			p.mu.Lock()
			p.waiting--
			if len(p.jobs) > 0 {
				p.mu.Unlock()
				t.Reset(p.idle)
				continue
			}
			p.workers--
			p.mu.Unlock()
			return
		}
	}
}

// running reports the pool's goroutines (for tests).
func (p *pool) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers
}

var _ http.Handler = http.HandlerFunc(nil)
