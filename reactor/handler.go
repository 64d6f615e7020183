package reactor

import (
	"errors"
	"os"
)

// Handler is called on the connection's loop goroutine, never concurrently
// for one Conn. A panic in a callback closes only its Conn (OnClose gets
// ErrHandlerPanic); runtime.Goexit in a callback ends the loop goroutine,
// so the loop closes its conns and listener first (Close and Shutdown still
// return; the other loops go on).
type Handler interface {
	// OnOpen is called when an accepted or dialed connection is ready.
	OnOpen(c *Conn)
	// OnData is called with bytes read. data is valid only during the call
	// (it may point into a kernel-provided buffer). It returns how many bytes
	// were consumed; the rest is kept (copied to a pending buffer) and
	// presented again, prefixed, on the next call. Returning < len(data) with
	// no new data arriving is fine: the call is not repeated until more bytes
	// arrive (or reading resumes). What is left while reading is paused
	// (PauseReading, or output above the high-water mark: Conn.WriteBlocked)
	// is presented again when reading resumes, before the peer's EOF.
	OnData(c *Conn, data []byte) (consumed int)
	// OnClose is called exactly once; err is nil on a clean EOF or Close.
	OnClose(c *Conn, err error)
}

// ReadEOFHandler is an optional interface of a Handler. When the handler
// implements it and the peer half-closes (reads end with EOF), the reactor
// calls OnReadEOF instead of closing the connection: reading stops, the write
// side stays open, queued and later output is still sent, and the connection
// closes when the handler (or any goroutine) calls Close, or on a write
// error, deadline or idle timeout. Handlers without it keep the default
// behaviour: output already queued is flushed, then the connection closes
// (OnClose(c, nil)).
//
// OnReadEOF is the last input event: input still kept for the connection
// (left unconsumed by OnData, or read while reading was paused) stays kept
// and is not presented to OnData again, and ResumeReading does not restart
// reading. A read error (not a clean EOF) still closes the connection with
// that error and does not call OnReadEOF.
//
// Loop only (called on the conn's loop).
type ReadEOFHandler interface {
	OnReadEOF(c *Conn)
}

// Refuser is an optional interface of a Server's Handler: with WithMaxConns,
// a connection accepted while the limit's worth are open is handed to
// OnRefuse, which may write a refusal (an HTTP server's 503), instead of
// being closed at once unread. OnRefuse runs on the loop in place of OnOpen;
// the connection is closed when it returns, after what it wrote is sent (a
// lingering close, as Conn.Close), and gets no OnData; OnClose runs as for
// any connection. A refused connection does not count in NumConns or
// against the limit.
type Refuser interface {
	OnRefuse(c *Conn)
}

// HandlerFuncs adapts three optional funcs to Handler: nil funcs are no-ops,
// a nil Data consumes everything.
type HandlerFuncs struct {
	Open  func(*Conn)
	Data  func(*Conn, []byte) int
	Close func(*Conn, error)
}

// OnOpen calls f.Open if set.
func (f HandlerFuncs) OnOpen(c *Conn) {
	if f.Open != nil {
		f.Open(c)
	}
}

// OnData calls f.Data if set, else consumes all of data.
func (f HandlerFuncs) OnData(c *Conn, data []byte) int {
	if f.Data != nil {
		return f.Data(c, data)
	}
	return len(data)
}

// OnClose calls f.Close if set.
func (f HandlerFuncs) OnClose(c *Conn, err error) {
	if f.Close != nil {
		f.Close(c, err)
	}
}

// Errors.
var (
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("reactor: server closed")
	// ErrClosed is returned by operations on a closed Conn or Loop.
	ErrClosed = errors.New("reactor: connection closed")
	// ErrLoopClosed is returned by Loop.Execute after the loop stopped.
	ErrLoopClosed = errors.New("reactor: loop closed")
	// ErrIdleTimeout is given to OnClose when the idle timeout closed a conn.
	ErrIdleTimeout = errors.New("reactor: idle timeout")
	// ErrDeadline is given to OnClose when a read or write deadline expired;
	// errors.Is(ErrDeadline, os.ErrDeadlineExceeded) holds.
	ErrDeadline = os.ErrDeadlineExceeded
	// ErrHandlerPanic wraps a recovered handler panic given to OnClose.
	ErrHandlerPanic = errors.New("reactor: handler panicked")
	// ErrInputOverflow closes a conn whose unconsumed input exceeds
	// WithMaxPendingInput.
	ErrInputOverflow = errors.New("reactor: unconsumed input above the limit")
	// ErrWriteClosed is returned by writes to a Conn after CloseWrite.
	ErrWriteClosed = errors.New("reactor: write side closed")
	// ErrQueueFull is returned by AsyncWrite when the conn's pending output
	// would exceed the AsyncWrite limit (WithAsyncWriteLimit).
	ErrQueueFull = errors.New("reactor: async write queue full")
	// ErrNotLoop is returned by loop-only methods that detect misuse.
	ErrNotLoop = errors.New("reactor: not on the connection's loop")
	// ErrBackendUnavailable is returned by Listen/NewServer when the
	// requested backend cannot run here.
	ErrBackendUnavailable = errors.New("reactor: backend unavailable")
)

// A Task is work for Loop.GoTask: the allocation-free form of Loop.Go's
// func and its continuation, for a caller that has an object per piece of
// work anyway.
type Task interface {
	// Run does the work off the loop (as Go's f) and reports whether Done
	// is to run.
	Run() bool
	// Done is the continuation, run on the loop (as the func Go's f
	// returns).
	Done()
}
