//go:build linux

package reactor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// Server owns the loops and, for Listen, the listeners.
type Server struct {
	cfg     config        // immutable
	h       Handler       // immutable
	loops   []*Loop       // immutable
	backend Backend       // immutable: resolved uring or epoll
	reason  string        // immutable
	feats   ring.Features // immutable; zero under epoll
	addr    net.Addr      // immutable
	refuser Refuser       // immutable: h's, if it has one
	nconns  atomic.Int64  // open conns (OnOpen or Dial .. OnClose), refused ones not included

	mu      sync.Mutex // guards started, closed
	started bool
	closed  bool
	done    chan struct{} // closed when every started loop exited
}

// Listen creates a server listening on network ("tcp", "tcp4", "tcp6",
// "unix") and addr: one SO_REUSEPORT listener per loop (unix: one shared
// listener). An address another listener holds, a ringo server's included,
// fails with EADDRINUSE, as with net.Listen: the port's SO_REUSEPORT group
// is this server's loops only. The loops are started by Serve or Start.
func Listen(network, addr string, h Handler, opts ...Option) (*Server, error) {
	s, err := newServer(h, opts)
	if err != nil {
		return nil, err
	}
	fds, bound, shared, err := openListeners(network, addr, len(s.loops), s.backend == BackendEpoll)
	if err != nil {
		s.closeUnstarted()
		return nil, err
	}
	s.addr = bound
	ta, _ := bound.(*net.TCPAddr)
	for i, l := range s.loops {
		ln := &listener{l: l, idx: 0, fd: fds[i], tcp: shared == nil, addr: bound, shared: shared}
		ln.specific = ta != nil && !ta.IP.IsUnspecified()
		l.listeners = append(l.listeners, ln)
	}
	return s, nil
}

// NewServer creates a server without listeners: loops only, for clients
// made with Loop.Dial. h is the default handler (unused by Dial, which takes
// its own).
func NewServer(h Handler, opts ...Option) (*Server, error) {
	return newServer(h, opts)
}

func newServer(h Handler, opts []Option) (*Server, error) {
	if h == nil {
		return nil, errors.New("reactor: nil handler")
	}
	s := &Server{h: h, done: make(chan struct{})}
	s.refuser, _ = h.(Refuser)
	c := &s.cfg
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.loops == 0 {
		c.loops = runtime.GOMAXPROCS(0)
	}
	if c.bufSize == 0 {
		c.bufSize, c.bufCount = DefaultBufferSize, DefaultBufferCount
	}
	if c.high == 0 {
		c.high, c.low = DefaultHighWater, DefaultLowWater
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.maxPending == 0 {
		c.maxPending = DefaultMaxPendingInput
	}
	if c.asyncLimit == 0 {
		c.asyncLimit = DefaultAsyncWriteLimit
	}
	if c.readBufSize == 0 {
		c.readBufSize = DefaultReadBufferSize
	}
	if !c.batchSet {
		c.batchWait = DefaultBatchWait
	}
	if err := s.resolveBackend(); err != nil {
		return nil, err
	}
	for i := 0; i < c.loops; i++ {
		l, err := newLoop(s, i)
		if err != nil {
			s.closeUnstarted()
			return nil, err
		}
		s.loops = append(s.loops, l)
	}
	return s, nil
}

// Start starts the loops in the background and returns once they serve.
// The chosen backend is logged once. Safe from any goroutine.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.started {
		return errAlreadyStarted
	}
	s.started = true
	for i, l := range s.loops {
		if err := l.start(); err != nil {
			// closed before waiting, and the lock released meanwhile: a loop
			// already serving may be in Close or Serve (a handler, an
			// Execute'd func), waiting for s.mu; it must see closed and go on.
			s.closed = true
			for _, started := range s.loops[:i] {
				started.stop()
			}
			s.mu.Unlock()
			for _, started := range s.loops[:i] {
				<-started.done
			}
			for _, rest := range s.loops[i+1:] {
				rest.closeUnstarted()
			}
			close(s.done)
			for _, rest := range s.loops[i+1:] {
				rest.runUnrun()
			}
			s.mu.Lock() // for the deferred Unlock
			return fmt.Errorf("reactor: loop %d: %w", i, err)
		}
	}
	attrs := []any{"backend", s.backend, "reason", s.reason, "loops", len(s.loops)}
	if s.backend == BackendUring {
		attrs = append(attrs, "features", s.feats.String())
	}
	if s.addr != nil {
		attrs = append(attrs, "addr", s.addr.String())
	}
	s.cfg.logger.Info("reactor: serving", attrs...)
	go func() {
		for _, l := range s.loops {
			<-l.done
		}
		close(s.done)
	}()
	return nil
}

var errAlreadyStarted = errors.New("reactor: server already started")

// Serve starts the loops (unless Start did) and blocks until Shutdown or
// Close; then it returns ErrServerClosed.
func (s *Server) Serve() error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		// errAlreadyStarted: a Start in another goroutine came first.
		if err := s.Start(); err != nil && err != errAlreadyStarted {
			return err
		}
	}
	<-s.done
	return ErrServerClosed
}

// Shutdown stops accepting, lets queued output drain, closes idle conns
// (SetBusy marks conns that are not), waits for the rest to close, then
// stops the loops. A dialed conn still connecting is not idle yet: Shutdown
// waits until its connect ends (the kernel gives up on a peer that never
// answers after about two minutes); bound it with ctx or a deadline on the
// conn (see Loop.Dial). When ctx expires first it calls Close and returns
// ctx.Err(). Safe from any goroutine; called from a loop (a handler), it
// cannot wait for that loop, so it runs in the background and returns nil.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.onLoop() != nil {
		// Not the caller's cancel (a handler's deferred cancel runs as soon as
		// this returns), but its deadline still bounds the drain.
		bg, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok {
			bg, cancel = context.WithDeadline(bg, dl)
		}
		go func() {
			defer cancel()
			s.Shutdown(bg)
		}()
		return nil
	}
	s.mu.Lock()
	if !s.started || s.closed {
		s.mu.Unlock()
		return s.Close()
	}
	s.mu.Unlock()
	for _, l := range s.loops {
		l.drainReq.Store(true)
		l.wake()
	}
	for _, l := range s.loops {
		select {
		case <-l.drainCh:
		case <-l.done:
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		}
	}
	return s.Close()
}

// Close stops everything at once: conns are closed (OnClose gets
// ErrServerClosed), listeners closed, loops stopped. When it returns no
// goroutine, fd or mapping of the server remains. Idempotent. Safe from any
// goroutine; called from a loop (a handler) it stops every loop but
// returns before the calling loop has torn down (it cannot wait for itself).
func (s *Server) Close() error {
	self := s.onLoop()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if self == nil {
			<-s.done
		}
		return nil
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	if !started {
		s.closeUnstarted()
		close(s.done)
		for _, l := range s.loops {
			l.runUnrun()
		}
		return nil
	}
	for _, l := range s.loops {
		l.stop()
	}
	if self != nil {
		for _, l := range s.loops {
			if l != self {
				<-l.done
			}
		}
		return nil
	}
	<-s.done
	return nil
}

// onLoop returns the loop the caller runs on, or nil.
func (s *Server) onLoop() *Loop {
	who := s.caller()
	for _, l := range s.loops {
		if l.owner.Load() == who {
			return l
		}
	}
	return nil
}

// caller identifies the calling goroutine as the loops are identified: a
// locked loop is the only goroutine on its thread (one gettid); a parked
// loop moves between threads, so by goroutine id (read from the stack
// header, about a microsecond).
func (s *Server) caller() int64 {
	if s.cfg.parked {
		return curGoroutineID()
	}
	return int64(unix.Gettid())
}

func (s *Server) closeUnstarted() {
	for _, l := range s.loops {
		l.closeUnstarted()
	}
}

// Addr returns the first listener's address (nil for NewServer). Safe from
// any goroutine.
func (s *Server) Addr() net.Addr { return s.addr }

// Backend returns the backend in use (uring or epoll). Safe from any goroutine.
func (s *Server) Backend() Backend { return s.backend }

// BackendReason says why that backend was chosen. Safe from any goroutine.
func (s *Server) BackendReason() string { return s.reason }

// Features returns the io_uring features in use (zero value under epoll).
// Safe from any goroutine.
func (s *Server) Features() ring.Features { return s.feats }

// Loops returns the loops. Safe from any goroutine.
func (s *Server) Loops() []*Loop { return s.loops }

// admit counts an accepted conn in nconns and reports true, or reports
// false when WithMaxConns' limit is reached. A compare-and-swap, so that
// loops accepting at once at the limit admit exactly up to it (a check, then
// an add, could let several in over it, and a check after the add could
// refuse them all).
func (s *Server) admit() bool {
	max := int64(s.cfg.maxConns)
	if max == 0 {
		s.nconns.Add(1)
		return true
	}
	for {
		n := s.nconns.Load()
		if n >= max {
			return false
		}
		if s.nconns.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// NumConns returns the number of open connections, accepted and dialed
// (not those refused by WithMaxConns). Safe from any goroutine.
func (s *Server) NumConns() int { return int(s.nconns.Load()) }

// stop asks the loop to tear down and exit.
func (l *Loop) stop() {
	l.stopReq.Store(true)
	l.wake()
}

// wake wakes the loop unless its queue is closed.
func (l *Loop) wake() {
	l.mu.Lock()
	if !l.closed {
		l.wakeUp()
	}
	l.mu.Unlock()
}

// closeUnstarted frees what a never-started loop holds.
func (l *Loop) closeUnstarted() {
	for _, ln := range l.listeners {
		if !ln.done {
			ln.done = true
			ln.closeFD()
		}
	}
	l.closeQueue(false)
}

// teardown (on the loop, at exit) closes every conn and listener, waits
// (bounded) for the ops in flight, and frees the backend.
func (l *Loop) teardown() {
	for len(l.leftDones) > 0 { // a Goexit in one: the rest run on the next try
		d := l.leftDones[0]
		l.fireDones(d.c, d.err)
		l.leftDones = l.leftDones[1:]
	}
	l.closeQueue(l.b != nil)
	l.tornDown = true
	l.dropInline()
	if l.b == nil {
		l.closeUnstarted()
		return
	}
	for i := range l.conns {
		if c := l.conns[i].c; c != nil && c.state < stateClosed {
			l.finish(c, ErrServerClosed)
		}
	}
	for _, ln := range l.listeners {
		if !ln.closing {
			ln.closing = true
			l.b.unlisten(ln)
		}
	}
	l.dirty = l.dirty[:0]
	for i := 0; i < 200 && (l.nconns > 0 || !l.listenersDone()); i++ {
		if err := l.b.wait(10e6); err != nil {
			break
		}
		l.tick()
	}
	if l.nconns > 0 || !l.listenersDone() {
		l.logger().Warn("reactor: ops still in flight at loop close", "loop", l.idx, "conns", l.nconns)
	}
	for i := range l.conns {
		if c := l.conns[i].c; c != nil {
			l.release(c)
		}
	}
	for _, ln := range l.listeners {
		l.listenerDone(ln)
	}
	l.closeLingers()
	if err := l.b.close(); err != nil {
		l.logger().Warn("reactor: backend close", "loop", l.idx, "err", err)
	}
}
