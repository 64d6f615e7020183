package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
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
//   - ReadTimeout: from the end of the head until the body is complete.
//   - IdleTimeout: a keep-alive connection with no request in progress is closed after this long
//     without reads or writes.
//   - WriteTimeout: a connection whose queued response bytes are not all sent this long after
//     they were queued is closed.
//
// A timeout closes the connection without a response. A FromHTTP handler that runs is not
// subject to read timeouts.
//
// Connection limit: with MaxConns > 0, a connection accepted while MaxConns are already open is
// answered at once with "503 Service Unavailable" and "Connection: close" (without waiting for a
// request) and closed. Open connections are unaffected.
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

	// MaxConns bounds open connections (0: no limit).
	MaxConns int
	// Logger gets handler panics and the reactor's messages (default slog.Default()).
	Logger *slog.Logger
	// Reactor options: loops, backend, buffers, CPU affinity...
	Reactor []reactor.Option

	mu      sync.Mutex // guards rs and cfg while starting
	rs      *reactor.Server
	cfg     *config
	dates   []*dateCache           // per loop (loop only)
	engines []map[*engine]struct{} // per loop: open connections (loop only)
	conns   atomic.Int64           // open connections
	refusal []byte                 // prebuilt 503 for MaxConns
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
	if s.rs != nil {
		return errors.New("httpx: server already listening")
	}
	cfg, err := s.buildConfig()
	if err != nil {
		return err
	}
	opts := make([]reactor.Option, 0, len(s.Reactor)+1)
	if s.Logger != nil {
		opts = append(opts, reactor.WithLogger(s.Logger))
	}
	opts = append(opts, s.Reactor...)
	rs, err := reactor.Listen(network, addr, (*connHandler)(s), opts...)
	if err != nil {
		return err
	}
	n := len(rs.Loops())
	s.dates = make([]*dateCache, n)
	s.engines = make([]map[*engine]struct{}, n)
	now := time.Now()
	for i := range s.dates {
		s.dates[i] = newDateCache(now)
		s.engines[i] = make(map[*engine]struct{})
	}
	s.refusal = appendErrorResponse(nil, 503, nil)
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
func (s *Server) NumConns() int { return int(s.conns.Load()) }

// Shutdown stops gracefully (see Server). Safe from any goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	rs, err := s.reactorServer()
	if err != nil {
		return nil
	}
	s.cfg.draining.Store(true)
	for _, l := range rs.Loops() {
		l := l
		_ = l.Execute(func() {
			for e := range s.engines[l.Index()] {
				e.beginShutdown()
			}
		})
	}
	return rs.Shutdown(ctx)
}

// Close closes the listeners and every connection at once; running FromHTTP handlers see
// their request Context cancelled. Safe from any goroutine.
func (s *Server) Close() error {
	rs, err := s.reactorServer()
	if err != nil {
		return nil
	}
	return rs.Close()
}
