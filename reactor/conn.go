//go:build linux

package reactor

import (
	"net"
	"sync/atomic"
	"time"
)

// connState is the life cycle of a Conn (loop only):
//
//	connecting -> open -> closing -> closed -> released
//	      \________________\__________/
//
// connecting: a Dial in progress. open: reading and writing. closing: Close
// was requested or the peer sent EOF; queued output is flushed, nothing is
// read. closed: OnClose ran; the backend ends its ops. released: the last op
// completed, the fd is closed and the slot is free.
type connState uint8

const (
	stateConnecting connState = iota
	stateOpen
	stateClosing
	stateClosed
	stateReleased
)

// doneEntry is an AsyncWrite callback due when the stream's sent byte count
// reaches end.
type doneEntry struct {
	end uint64
	f   func(error)
}

// Conn is a connection owned by its loop. Every field is loop only unless
// marked otherwise.
type Conn struct {
	l     *Loop   // immutable
	h     Handler // immutable
	fd    int     // immutable until released
	slot  uint32  // immutable
	gen   uint32  // immutable (the slot's generation while c holds it)
	state connState
	laddr net.Addr // immutable after open (safe from any goroutine)
	raddr net.Addr // immutable after creation (safe from any goroutine)
	ctx   any

	// closeReq is set by Close from any goroutine; the loop stops delivering
	// input once it sees it and closes the conn in its task step.
	closeReq atomic.Bool

	// Input.
	in         []byte // unconsumed input, presented again (pooled buffer)
	userPaused bool   // PauseReading
	hwPaused   bool   // outbound queue above the high-water mark
	eofSeen    bool
	busy       bool // SetBusy: Shutdown waits for it to clear

	// Output. out collects Write; sending is what the in-flight send carries
	// (a suffix of sendBuf). out and sendBuf are distinct buffers.
	out       []byte
	sending   []byte
	sendBuf   []byte
	sendBusy  bool // a send is in flight (one per conn)
	dirty     bool // queued in l.dirty
	queued    uint64
	sentTotal uint64
	dones     []doneEntry

	// Timers: deadlines in loop-clock nanoseconds (0 = none).
	idle       time.Duration
	lastActive int64
	readDL     int64
	writeDL    int64
	timer      *Timer

	// Backend state.
	inflight   int32  // io_uring ops in flight on c (release waits for 0)
	recvArmed  bool   // a recv op is in flight
	recvCancel bool   // a cancel of the recv was submitted
	connArmed  bool   // a CONNECT is in flight
	rbuf       []byte // single-shot recv buffer (io_uring without buffer ring)
	epReadable bool   // epoll: read readiness not yet consumed
	epQueued   bool   // epoll: in the backend's ready list
	epSendWait bool   // epoll: send blocked on EAGAIN, waiting for EPOLLOUT
	epHup      bool   // epoll: the peer hung up; read to EOF
	dial       *dialState
}

// Write copies b into the outbound queue; it is sent at the end of the loop
// iteration (one send per conn per iteration carrying everything queued).
// Loop only.
func (c *Conn) Write(b []byte) (int, error) {
	if c.state != stateOpen && c.state != stateConnecting || c.closeReq.Load() {
		return 0, ErrClosed
	}
	c.l.queueOut(c, b)
	return len(b), nil
}

// Writev is Write of every buffer of bs, in order. Loop only.
func (c *Conn) Writev(bs [][]byte) (int, error) {
	if c.state != stateOpen && c.state != stateConnecting || c.closeReq.Load() {
		return 0, ErrClosed
	}
	n := 0
	for _, b := range bs {
		c.l.queueOut(c, b)
		n += len(b)
	}
	return n, nil
}

// AsyncWrite queues b for c from any goroutine: it takes ownership of b (the
// caller must not modify it afterwards). Writes from one goroutine keep their
// order. done, if not nil, runs on the loop once b was handed to the kernel
// (nil error) or the conn closed first (ErrClosed or the close error).
// Safe from any goroutine.
func (c *Conn) AsyncWrite(b []byte, done func(error)) error {
	return c.l.enqueue(task{kind: taskWrite, c: c, b: b, done: done})
}

// Close closes the connection after flushing queued output: then FIN, then
// the fd is closed; OnClose runs with a nil error. No OnData call follows a
// Close made on the loop. Idempotent. Safe from any goroutine.
func (c *Conn) Close() error {
	if !c.closeReq.CompareAndSwap(false, true) {
		return nil
	}
	if err := c.l.enqueue(task{kind: taskClose, c: c}); err != nil {
		return nil // the loop is gone: its teardown closed c
	}
	return nil
}

// CloseWithError closes c at once: queued output is dropped and OnClose
// gets err (ErrClosed if err is nil). Idempotent with Close; the first wins.
// Safe from any goroutine.
func (c *Conn) CloseWithError(err error) error {
	if err == nil {
		err = ErrClosed
	}
	if !c.closeReq.CompareAndSwap(false, true) {
		return nil
	}
	c.l.enqueue(task{kind: taskAbort, c: c, err: err})
	return nil
}

// Context returns the value set by SetContext. Loop only.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value to c. Loop only.
func (c *Conn) SetContext(v any) { c.ctx = v }

// LocalAddr returns the local address. Safe from any goroutine.
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the peer address. Safe from any goroutine.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// Loop returns c's loop. Safe from any goroutine.
func (c *Conn) Loop() *Loop { return c.l }

// Fd returns the socket descriptor (for socket options). Do not read,
// write or close it. Loop only.
func (c *Conn) Fd() int { return c.fd }

// Buffered returns the bytes queued and not yet sent. Loop only.
func (c *Conn) Buffered() int { return len(c.out) + len(c.sending) }

// SetIdleTimeout closes c with ErrIdleTimeout after d without reads or
// writes; 0 disables. Loop only.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.idle = d
	c.lastActive = c.l.mono
	c.l.scheduleConnTimer(c)
}

// SetReadDeadline closes c with ErrDeadline (os.ErrDeadlineExceeded) when t
// passes; the zero time disables. Loop only.
func (c *Conn) SetReadDeadline(t time.Time) {
	c.readDL = c.l.deadline(t)
	c.l.scheduleConnTimer(c)
}

// SetWriteDeadline closes c with ErrDeadline when t passes while output is
// still queued; the zero time disables. Loop only.
func (c *Conn) SetWriteDeadline(t time.Time) {
	c.writeDL = c.l.deadline(t)
	c.l.scheduleConnTimer(c)
}

// PauseReading stops delivering input (and soon stops reading from the
// kernel) until ResumeReading. Loop only.
func (c *Conn) PauseReading() {
	if c.userPaused {
		return
	}
	c.userPaused = true
	c.l.readStateChanged(c)
}

// ResumeReading undoes PauseReading; input kept meanwhile is presented on the
// next iteration. Loop only.
func (c *Conn) ResumeReading() {
	if !c.userPaused {
		return
	}
	c.userPaused = false
	c.l.readStateChanged(c)
}

// SetBusy marks c as busy (a request in progress in an upper layer):
// Shutdown closes only conns that are not busy, have no queued output and no
// unconsumed input. Loop only.
func (c *Conn) SetBusy(busy bool) { c.busy = busy }

// wantRead reports whether input should be read and delivered.
func (c *Conn) wantRead() bool {
	return c.state == stateOpen && !c.userPaused && !c.hwPaused && !c.eofSeen && !c.closeReq.Load()
}

// idleForShutdown reports whether Shutdown may close c now.
func (c *Conn) idleForShutdown() bool {
	return c.state == stateOpen && !c.busy && c.Buffered() == 0 && len(c.in) == 0
}
