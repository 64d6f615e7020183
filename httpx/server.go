package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Server serves HTTP/1.1 on ringo's reactor. Set the fields, then call ListenAndServe, or
// Listen followed by Serve or Start. The fields must not change once listening.
//
// Timeouts (zero means none):
//   - ReadHeaderTimeout: from the first byte of a request (or the end of the previous one when
//     bytes are already waiting) until its head is complete. A client that trickles a head
//     (slowloris) is cut off when it expires, however active it is.
//   - ReadTimeout: from the end of the head until the body is complete. A FromHTTP client that
//     asked for 100 Continue is not waiting on itself: the timeout starts when the 100 goes out
//     (the handler's first Body read), a body byte arrives or the response starts.
//   - IdleTimeout: a keep-alive connection with no request in progress is closed after this long
//     without reads or writes (a client that reads none of a queued response for this long is
//     idle too; WriteTimeout bounds one that reads slowly). It also bounds a pause inside a
//     request head when ReadHeaderTimeout is zero, and inside a body when ReadTimeout is zero
//     (not while the client waits for 100 Continue): a stalled request is not kept for ever.
//   - WriteTimeout: a connection whose queued response bytes are not all sent this long after
//     they were queued is closed (each write's bytes are timed from that write, give or take
//     WriteTimeout/16: a response streamed in pieces to a client that reads a little of each in
//     time, while the queue never empties, is cut off too).
//
// A timeout closes the connection without a response. A FromHTTP handler that runs is not
// subject to read timeouts.
//
// Connection limit: with MaxConns > 0, a connection accepted while MaxConns are already open is
// answered at once with "503 Service Unavailable" and "Connection: close" (without waiting for a
// request) and closed. Open connections are unaffected. Every connection of the Server's loops
// counts: upgraded and hijacked ones, and those its handlers dial with reactor.Loop.Dial.
//
// Shutdown stops accepting, closes idle keep-alive connections at once, lets requests in
// progress finish (their responses carry "Connection: close"), and returns when every connection
// is closed, or when ctx expires (then it closes everything and returns ctx.Err()).
type Server struct {
	// Handler serves requests: a HandlerFunc (inline fast path) or FromHTTP(h).
	Handler Handler

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	WriteTimeout      time.Duration

	// Limits (zero: the Default* constants). Beyond them the request is answered with 414
	// (request line), 431 (field section bytes or count, also for trailers) or 413 (body).
	MaxHeaderBytes      int
	MaxHeaderCount      int
	MaxRequestLineBytes int
	MaxBodyBytes        int64

	// MaxConns bounds open connections (0: no limit). A reactor.WithMaxConns in Reactor takes
	// precedence (connections over that limit get the same 503).
	MaxConns int
	// Logger gets handler panics and the reactor's messages (default slog.Default()).
	Logger *slog.Logger
	// Reactor options: loops, backend, buffers, CPU affinity...
	Reactor []reactor.Option

	mu      sync.Mutex // guards rs, cfg and closed while starting
	rs      *reactor.Server
	closed  bool // Shutdown or Close was called: Listen refuses with ErrServerClosed
	cfg     *config
	caches  []*loopCache   // per loop (loop only)
	free    [][]*engine    // per loop: engines of idle connections, for reuse (loop only)
	tmpls   []http.Request // per loop: FromHTTP Request template (loop only)
	yieldOn bool           // FromHTTP: see loopYield
	yields  []loopYield    // per loop (loop only)

	onShutdown []func() // RegisterOnShutdown's; guarded by mu
}

// RegisterOnShutdown registers f to be called, in a goroutine of its own, when Shutdown begins,
// as net/http's Server.RegisterOnShutdown: the place to tell the handlers of hijacked
// connections (WebSockets) to finish, since Shutdown waits for those connections until its
// context ends. Safe from any goroutine.
func (s *Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	s.onShutdown = append(s.onShutdown, f)
	s.mu.Unlock()
}

// loopYield lets a loop hand its P to the FromHTTP workers it has just given work.
//
// Why: a loop goroutine is locked to its OS thread and blocks in io_uring_enter/epoll_pwait
// through a plain syscall, which keeps its P. When every P belongs to a loop (the default: as
// many loops as GOMAXPROCS), a handler goroutine made runnable by the loop waits until sysmon
// retakes the P (20 us to 10 ms later), and sysmon then polls at its fastest rate. Instead, once
// per loop iteration in which requests were handed to the pool, the loop calls runtime.Gosched
// from a zero-delay loop timer (after the iteration's input is parsed, before its output is
// flushed): the scheduler hands the P to another thread that runs the handlers, and gives it back
// when they block or finish (or after Go's 10 ms preemption of a handler that computes). What
// the handlers hand back to the loop meanwhile is queued here, without waking the loop, and run
// as soon as Gosched returns, so their responses leave in the same iteration. FromHTTP servers
// run parked loops by default (reactor.WithParkedLoops), which run handlers themselves
// (reactor.Loop.Go) and hand requests to the pool only when WithMaxHandlers are running: then
// the yield still pays, as a goroutine switch, since the handlers run before the iteration's
// flush and their responses need no wake-up of the loop.
//
// It also applies with fewer loops than GOMAXPROCS, where idle Ps could run the handlers: the
// job's channel send puts the worker in the loop's own P's runnext slot, and a thief on an idle
// P that finds that P running sleeps (runqgrab's usleep(3), about 55 us with Linux's default
// 50 us timer slack) before it takes it; the response then wakes the loop through its eventfd.
// Measured, 1,000 pipelined requests on one connection, one locked loop, GOMAXPROCS 2: 47-72 ms
// (a nanosleep and a loop wake-up per request) against 18-21 ms with the yield
// (TestReview21PipelinedPoolYield).
type loopYield struct {
	armed bool   // loop only: fn is scheduled
	fn    func() // the timer callback (built once)

	mu      sync.Mutex
	inside  bool     // the loop is in Gosched: queue work in pending instead of Loop.Execute
	pending []func() // work for the loop from handler goroutines
	spare   []func() // loop only
}

// run is the loop's yield (loop only).
func (y *loopYield) run(logger *slog.Logger) {
	y.armed = false
	y.mu.Lock()
	y.inside = true
	y.mu.Unlock()
	runtime.Gosched()
	y.mu.Lock()
	y.inside = false
	fs := y.pending
	y.pending = y.spare[:0]
	y.mu.Unlock()
	for i, f := range fs {
		runLoopFunc(f, logger)
		fs[i] = nil
	}
	y.spare = fs[:0]
}

// enqueue queues f for the loop if it is inside its yield, and reports whether it did (safe
// from any goroutine).
func (y *loopYield) enqueue(f func()) bool {
	y.mu.Lock()
	defer y.mu.Unlock()
	if !y.inside {
		return false
	}
	y.pending = append(y.pending, f)
	return true
}

// runLoopFunc runs f, logging a panic (one failing func must not drop the others).
func runLoopFunc(f func(), logger *slog.Logger) {
	defer func() {
		if v := recover(); v != nil && logger != nil {
			logger.Error("httpx: panic in loop func", "panic", fmt.Sprint(v))
		}
	}()
	f()
}

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or Close.
var ErrServerClosed = reactor.ErrServerClosed

// ListenAndServe listens on the TCP address addr and serves until Shutdown or Close, then
// returns ErrServerClosed. Safe from any goroutine (once).
func (s *Server) ListenAndServe(addr string) error {
	if err := s.Listen("tcp", addr); err != nil {
		return err
	}
	return s.Serve()
}

// Listen binds network ("tcp", "tcp4", "tcp6", "unix") and addr without serving yet. Safe from
// any goroutine (once per Server).
func (s *Server) Listen(network, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.rs != nil {
		return errors.New("httpx: server already listening")
	}
	cfg, err := s.buildConfig()
	if err != nil {
		return err
	}
	opts := make([]reactor.Option, 0, len(s.Reactor)+3)
	if s.MaxConns > 0 {
		// The reactor admits exactly MaxConns and hands the rest to OnRefuse.
		opts = append(opts, reactor.WithMaxConns(s.MaxConns))
	}
	if s.Logger != nil {
		opts = append(opts, reactor.WithLogger(s.Logger))
	}
	if cfg.adapter != nil {
		// net/http handlers run on goroutines and often do network I/O of
		// their own: loops must not hold Ps while idle (reactor.WithParkedLoops;
		// an option in s.Reactor overrides this).
		opts = append(opts, reactor.WithParkedLoops(true))
	}
	opts = append(opts, s.Reactor...)
	rs, err := reactor.Listen(network, addr, (*connHandler)(s), opts...)
	if err != nil {
		return err
	}
	n := len(rs.Loops())
	s.caches = make([]*loopCache, n)
	s.free = make([][]*engine, n)
	if cfg.adapter != nil {
		s.tmpls = make([]http.Request, n)
	}
	now := time.Now()
	for i := range s.caches {
		s.caches[i] = newLoopCache(now)
	}
	s.yieldOn = cfg.adapter != nil
	s.yields = make([]loopYield, n)
	for i := range s.yields {
		y := &s.yields[i]
		y.fn = func() { y.run(cfg.logger) }
	}
	s.cfg = cfg
	s.rs = rs
	return nil
}

func (s *Server) reactorServer() (*reactor.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rs == nil {
		return nil, errors.New("httpx: server not listening (call Listen first)")
	}
	return s.rs, nil
}

// reactorServerOrClose marks s closed and returns the reactor server, if it listens (Shutdown
// and Close): a later Listen or ListenAndServe fails with ErrServerClosed, as net/http's do;
// one after a Shutdown that came before Listen would otherwise serve for ever.
func (s *Server) reactorServerOrClose() (*reactor.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.rs == nil {
		return nil, ErrServerClosed
	}
	return s.rs, nil
}

// Start starts serving in the background and returns once the loops run. Safe from any
// goroutine.
func (s *Server) Start() error {
	rs, err := s.reactorServer()
	if err != nil {
		return err
	}
	return rs.Start()
}

// Serve serves (starting the loops unless Start did) until Shutdown or Close, then returns
// ErrServerClosed. Safe from any goroutine.
func (s *Server) Serve() error {
	rs, err := s.reactorServer()
	if err != nil {
		return err
	}
	return rs.Serve()
}

// Addr returns the listening address (nil before Listen). Safe from any goroutine.
func (s *Server) Addr() net.Addr {
	rs, err := s.reactorServer()
	if err != nil {
		return nil
	}
	return rs.Addr()
}

// Backend returns the reactor backend in use ("uring" or "epoll"). Safe from any goroutine.
func (s *Server) Backend() reactor.Backend {
	rs, err := s.reactorServer()
	if err != nil {
		return ""
	}
	return rs.Backend()
}

// NumConns returns the number of open connections. Safe from any goroutine.
// It counts every connection of the Server's loops, upgraded (Ctx.Upgrade) and hijacked ones
// included, as MaxConns does; connections being refused with a 503 are not counted.
func (s *Server) NumConns() int {
	rs, err := s.reactorServer()
	if err != nil {
		return 0
	}
	return rs.NumConns()
}

// Shutdown stops gracefully (see Server). With a FromHTTP handler it also waits until the
// worker pool's goroutines have exited; when ctx expires first it closes (see Close) and returns
// ctx.Err(). Safe from any goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	for _, f := range s.onShutdown {
		go f()
	}
	s.mu.Unlock()
	rs, err := s.reactorServerOrClose()
	if err != nil {
		return nil
	}
	// Engines read draining at each request: the response of a request in progress says
	// "Connection: close" and the connection closes after it. The reactor closes idle ones.
	s.cfg.draining.Store(true)
	err = rs.Shutdown(ctx)
	if p := s.cfg.pool; p != nil {
		if err != nil {
			s.stopPoolBounded()
			return err
		}
		if !p.stop(ctx) {
			s.stopPoolBounded()
			return ctx.Err()
		}
	}
	return err
}

// Close closes the listeners and every connection at once, hijacked ones included. With a
// FromHTTP handler, running handlers see their request Context cancelled (a hijacker sees its
// connection fail instead: its Context ends when it returns), and Close returns once the worker pool's
// goroutines have exited or the close wait passed (see Adapter). Safe from any goroutine.
func (s *Server) Close() error {
	rs, err := s.reactorServerOrClose()
	if err != nil {
		return nil
	}
	err = rs.Close()
	if s.cfg.pool != nil {
		s.stopPoolBounded()
	}
	return err
}

// stopPoolBounded stops the worker pool after the connections are closed (so every request
// Context is cancelled), waiting at most the adapter's close wait.
func (s *Server) stopPoolBounded() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.adapter.closeWait)
	defer cancel()
	s.cfg.pool.stop(ctx)
}
