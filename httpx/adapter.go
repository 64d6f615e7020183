package httpx

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"time"
)

// Adapter runs standard net/http handlers on ringo. Create it with FromHTTP and put it in
// Server.Handler.
//
// How it works: the loop parses and validates each request exactly as on the fast path, builds a
// real *http.Request (method, URL, Header, Host, RemoteAddr, RequestURI, ContentLength,
// TransferEncoding, Close, Trailer; TLS is nil) and runs the handler. On parked loops (the
// default for FromHTTP servers, see reactor.WithParkedLoops) the handler runs on the loop's own
// goroutine through reactor.Loop.GoTask, after the iteration's input is parsed and before its
// output is flushed: a handler that returns without blocking costs no goroutine hand-off at all.
// One that blocks (I/O, a lock, a channel, Body.Read waiting for the client, Flush waiting for the
// send queue) goes on by itself while a standby goroutine takes the loop over at once, so other
// connections are not held up. On loops locked to their threads (io_uring, or
// WithParkedLoops(false)) the handler runs on a worker goroutine from a pool. Either way at most
// WithMaxHandlers handlers run at once.
//
// Bodies are streamed: the loop decodes the body and feeds a pipe the handler reads from; when
// the pipe holds more than the body buffer (WithBodyBuffer; up to twice that when the rest of the
// body fits), the loop pauses reading from that connection (reactor.Conn.PauseReading) until the
// handler has read it down. "100 Continue" is sent when the handler first reads the body. The
// request's Context is cancelled when the client goes away, when the server closes, and after
// the handler returns (after a Hijack, only when the handler returns, as in net/http).
//
// The ResponseWriter implements http.Flusher, http.Hijacker (below), trailers (the "Trailer"
// header and http.TrailerPrefix) and full duplex: a handler may always interleave Body reads
// with writes, and http.ResponseController.EnableFullDuplex reports success. Without a Content-Length the body is buffered up to the response buffer
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
// Hijacking: the ResponseWriter implements http.Hijacker, so WebSocket libraries and other
// upgrades work (CONNECT requests are answered 501 by the parser and reach no handler). The net.Conn it returns is a view of the ringo connection,
// which stays on its loop: the bytes that followed the request and all later input are read
// from it (the loop stops reading from the socket while more than the body buffer is unread),
// writes are queued with reactor.Conn.AsyncWrite (a Write waits while the connection's queue
// is over its limit), and it has its own deadlines; the Server's timeouts no longer apply. The
// request body must have arrived whole before Hijack (an upgrade has none). A header written
// first (WriteHeader(101), as some WebSocket libraries do) goes out at Hijack, without framing
// fields. As with net/http, the handler owns the connection once hijacked: it stays open after
// the handler returns, and until the hijacker closes it; Server.Shutdown waits for it until its
// context ends, then Server.Close closes it.
//
// Deadlines: http.ResponseController.SetReadDeadline replaces the Server's ReadTimeout for the
// rest of the request's body, SetWriteDeadline its WriteTimeout for the response (the zero time
// lifts them, for a long upload or stream); when one passes the connection closes, as the
// Server's timeouts do.
//
// Not supported: http.Pusher, CloseNotifier, TLS (Request.TLS is always nil), HTTP/2.
//
// Half-close: a client that sends its requests and then shuts down its sending side
// (shutdown(SHUT_WR)) gets every response, in order, and then the connection closes. As with
// net/http, the EOF cancels the running request's Context (a closed client and a half-closed one
// look the same); what the handler still writes is sent. A request cut off by the EOF (inside
// its head or body) is answered with 400 if nothing of its response was sent yet, never with the
// handler's response, and its Body.Read returns io.ErrUnexpectedEOF.
//
// Bodies: a handler that returns before reading its whole body gets its response held on the
// loop until the rest of the body has arrived (and is discarded), so a malformed body is still
// answered with an error status, never the handler's 2xx, and the connection can carry the next
// request. This holds for chunked bodies (up to 256 KiB more after the handler returned; then the
// response goes out and the connection closes) and for Content-Length up to 256 KiB, unless the
// client waits for "100 Continue"; otherwise the response goes out at once with "Connection:
// close". A response that started before its handler returned is ended at once, and the rest of
// the body is discarded the same way before the next request when 256 KiB or less of it remains;
// a response that starts with more still to come, or after "100 Continue" before the body
// arrived, says "Connection: close" (unless the handler called EnableFullDuplex), as net/http's.
// A body whose framing turns out malformed while the handler runs makes Body.Read fail, and the
// client gets the error status unless the handler had already sent part of its response.
//
// Goroutines: each Server that serves an Adapter has its own pool. Server.Shutdown returns once
// the in-flight handlers have returned and every pool goroutine has exited. Server.Close cancels
// the Context of every running request, then waits until the handlers have returned and the
// pool goroutines have exited, at most the close wait (WithCloseWait, default 1 s): a handler
// that ignores its Context and runs on keeps its goroutine (Go cannot stop it) until it
// returns, and then that goroutine exits.
//
// Overhead: against the fast path, each request costs the *http.Request with its URL, Header
// map and strings, and the response's own header map (8 allocations, about 2 KiB, in all with
// the ResponseWriter on a parked loop, for a request with a few fields; common methods and field
// names are interned, field values share one string, response buffers are reused per loop), and
// one copy of the body and of the response; on locked loops also a hand-off to a pool goroutine
// and back (10 allocations). A loop that handed requests to the pool yields its P once per
// iteration so the handlers run at once (see loopYield in server.go) instead of waiting for the
// Go scheduler's monitor to notice them (when loops own every P, as many loops as GOMAXPROCS,
// the default) or for a thief on an idle P, which sleeps before it takes them (fewer loops).
// Requests of one connection are not pipelined through the handler.
type Adapter struct {
	h           http.Handler
	maxHandlers int
	workerIdle  time.Duration
	closeWait   time.Duration
	bodyBuffer  int
	respBuffer  int
	baseContext func() context.Context
	ownOptions  bool // "OPTIONS *" goes to h (WithGeneralOptionsHandler(false))
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
			a.maxHandlers = n
		}
	}
}

// WithWorkerIdleTimeout sets how long an idle pool goroutine waits for work before it exits:
// between one and two times d after its last job (default 10s).
func WithWorkerIdleTimeout(d time.Duration) AdapterOption {
	return func(a *Adapter) {
		if d > 0 {
			a.workerIdle = d
		}
	}
}

// WithCloseWait bounds how long Server.Close waits for running handlers to return after their
// request Contexts were cancelled (default 1 s). Handlers still running then keep their
// goroutines until they return.
func WithCloseWait(d time.Duration) AdapterOption {
	return func(a *Adapter) {
		if d >= 0 {
			a.closeWait = d
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

// WithBaseContext sets the function that gives the parent context of the requests of a
// connection; it is called once per connection, at its first request (default
// context.Background).
func WithBaseContext(f func() context.Context) AdapterOption {
	return func(a *Adapter) {
		if f != nil {
			a.baseContext = f
		}
	}
}

// WithGeneralOptionsHandler(false) hands "OPTIONS *" requests to the handler. By default the
// Adapter answers them itself, as net/http's Server does unless DisableGeneralOptionsHandler is
// set: 200 with Content-Length: 0, after reading up to 4 KiB of a body (a longer one closes the
// connection). http.ServeMux would answer them 400.
func WithGeneralOptionsHandler(on bool) AdapterOption {
	return func(a *Adapter) { a.ownOptions = !on }
}

// generalOptions answers "OPTIONS *", the request about the server as a whole (RFC 9110 9.3.7),
// with an empty 200.
type generalOptions struct{}

func (generalOptions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "0")
	if r.ContentLength == 0 {
		return
	}
	// The body has no defined meaning; a little is read and dropped, and beyond that the
	// connection is not worth keeping.
	const keep = 4 << 10
	if n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, keep+1)); n > keep {
		w.Header().Set("Connection", "close")
	}
}

// FromHTTP returns an Adapter that serves h (see Adapter).
func FromHTTP(h http.Handler, opts ...AdapterOption) *Adapter {
	a := &Adapter{
		h:           h,
		maxHandlers: 256 * runtime.GOMAXPROCS(0),
		workerIdle:  10 * time.Second,
		closeWait:   time.Second,
		bodyBuffer:  64 << 10,
		respBuffer:  4 << 10,
		baseContext: context.Background,
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

var _ http.Handler = http.HandlerFunc(nil)
