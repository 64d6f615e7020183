//go:build linux

package reactor

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
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
	stateClosedGraceful // stateClosed after a graceful close: release decides whether the fd lingers (linger.go)
	stateReleased
)

// doneEntry is an AsyncWrite or NotifySent callback due when connExt.sent
// (bytes sent since the oldest pending callback was queued) reaches end. The
// entries are kept in order of end.
type doneEntry struct {
	end uint64
	f   func(error)
}

// Conn is a connection owned by its loop. Every field is loop only unless
// marked otherwise.
//
// Memory: a Conn is what an idle connection costs (the table slot aside),
// so it holds only what every conn uses; addresses are kept compact and
// made into net.Addr values on demand, pooled buffers (and the connBufs
// that holds them) are held only while non-empty, and what only some conns
// use (deadlines and their timer; behind that, AsyncWrite callbacks, dial
// state, non-TCP addresses) lives in ext, allocated on first use. The
// fields are ordered by alignment, leaving no padding: 144 bytes, a size
// class of the allocator (one byte more costs 160).
type Conn struct {
	l   *Loop // immutable
	ctx any

	// Byte queues (kept input, output queued and in flight), nil while
	// all are empty: taken from the loop's pool when a conn first keeps
	// input or queues output, given back once all are empty again.
	bufs *connBufs

	ext        *connExt // rarely used state; see connExt for its rules
	lastActive int64    // loop clock of the last read or write

	// AsyncWrite bound (safe from any goroutine): bytes of AsyncWrite calls
	// still in the loop's task queue, and the conn's queued output (from Write
	// and AsyncWrite alike) as the loop last published it (flushConn, sent).
	asyncQueued atomic.Int64
	asyncOut    atomic.Int64

	fd   int32  // immutable until released
	slot uint32 // immutable
	gen  uint32 // immutable (the slot's generation while c holds it)
	// inflight counts io_uring ops in flight on c (release waits for 0).
	inflight int32

	// reqs holds requests made from any goroutine. reqClose: Close was
	// called; the loop stops delivering input once it sees it and closes the
	// conn in its task step. reqWriteShut: CloseWrite was called off the
	// loop (set before its task); the loop's later Write and Writev fail at
	// once. One word for both keeps Conn at 144 bytes.
	reqs       atomic.Uint32
	state      connState
	userPaused bool // PauseReading
	hwPaused   bool // outbound queue above the high-water mark
	eofSeen    bool
	eofPending bool // EOF came while paused with kept input: finish it once that input is delivered
	unshown    bool // kept input holds bytes OnData has not been shown (kept while paused)
	busy       bool // SetBusy: Shutdown waits for it to clear
	sendBusy   bool // a send is in flight (one per conn)
	dirty      bool // queued in l.dirty
	recvBefore bool // a recv was armed on c before (armRecv checks a re-arm for a reset first)

	// Backend state.
	recvArmed   bool  // a recv op is in flight
	recvCancel  bool  // a cancel of the recv was submitted
	recvPoll    bool  // io_uring single-shot or bulk: the armed recv op is a POLL_ADD
	recvStarved bool  // io_uring: waiting in the backend's starved FIFO (ENOBUFS)
	connArmed   bool  // a CONNECT is in flight
	epReadable  bool  // epoll: read readiness not yet consumed
	epQueued    bool  // epoll: in the backend's ready list
	epSendWait  bool  // epoll: send blocked on EAGAIN, waiting for EPOLLOUT
	epDrain     bool  // epoll: a short read does not mean an empty queue; read to EAGAIN (see event)
	bulk        bool  // io_uring: large reads seen, read on readiness (op_recv_bulk.go)
	smallRun    uint8 // io_uring: consecutive small bulk reads

	// Addresses of TCP conns (immutable once set: at accept, or for a
	// dialed conn when it connects; safe from any goroutine). Conns whose
	// addresses are not TCP keep them in ext (set before c is published).
	peer, local ipPort
}

// connBufs are a conn's byte queues (loop only). Each buffer is pooled
// (Loop.getBuf) and nil when empty.
type connBufs struct {
	// in is unconsumed input, presented again.
	in []byte
	// out collects Write; sendBuf is the buffer of the send in flight, of
	// which sendBuf[sendOff:] is not sent yet (c.sending()). Distinct
	// buffers.
	out     []byte
	sendBuf []byte
	sendOff int
	// rbuf is the buffer of an io_uring single-shot recv in flight (no
	// buffer ring), referenced here until the recv's CQE.
	rbuf []byte
}

// connExt is the part of a Conn that only some conns use, allocated on
// first use (loop only): deadlines and their timer, and, behind one more
// pointer, what still fewer conns use.
type connExt struct {
	// Deadlines in loop-clock nanoseconds (0 = none) and the conn's single
	// deadline timer (timer.c is the conn).
	idle    time.Duration
	readDL  int64
	writeDL int64
	timer   Timer
	// outq samples the kernel's send queue (SIOCOUTQ) of a conn with an
	// idle timeout: after a send that left output in the reactor, or when
	// the timeout ended with output still in the kernel; 0: no sample. See
	// Loop.peerReading.
	outq int

	rare *connRare
}

// connRare holds what few conns use. Exception to "loop only": for conns
// created with non-TCP addresses (unix sockets, dials), ext and rare are
// allocated when c is created, before any other goroutine can see c, and
// never replaced, so laddr/raddr and dialLocal may be read from any
// goroutine (laddr is set before c is published; a dialed conn's local
// address goes to dialLocal when its connect completes).
type connRare struct {
	laddr, raddr net.Addr // non-TCP or dialed conns (see above)

	// dialLocal is a dialed conn's local address, stored once its connect
	// completed (see kindDialed).
	dialLocal atomic.Pointer[ipPortOrAddr]
	h         Handler // a dialed conn's handler, or the one SetHandler set (loop only)

	// AsyncWrite callbacks, oldest first; sent counts the bytes sent since
	// the first of them was queued (reset when none is left).
	dones    []doneEntry
	doneHead int // dones[:doneHead] ran already (fireDones is running, or was left by a runtime.Goexit)
	sent     uint64

	dial *dialState // a dial in progress

	wshut wshutState // CloseWrite's progress

	aborting bool // CloseWithError was called on the loop: nothing more is sent

	// readErr is a read error (a reset) that came while input was kept
	// unpresented (reading paused): reported once that input is (eof).
	readErr error

	// refused: accepted over WithMaxConns and given to Refuser.OnRefuse, so
	// not counted in Server.nconns. Set before c is published.
	refused bool
}

// donesPending reports whether AsyncWrite or NotifySent callbacks wait.
func (r *connRare) donesPending() bool { return len(r.dones) > r.doneHead }

// wshutState is how far CloseWrite has come on a conn.
type wshutState uint8

const (
	wshutNone   wshutState = iota
	wshutQueued            // CloseWrite was called on the loop and queued behind AsyncWrites (Write fails, AsyncWrite tasks still run)
	wshutWant              // CloseWrite applies: shut down once the queued output is sent
	wshutDone              // the write side is shut down
)

// Bits of Conn.reqs.
const (
	reqClose     = 1 << iota // Close or CloseWithError was called
	reqWriteShut             // CloseWrite was called off the loop
)

// closeRequested reports whether Close (or CloseWithError) was called, from
// any goroutine.
func (c *Conn) closeRequested() bool { return c.reqs.Load()&reqClose != 0 }

// writeShut reports whether CloseWrite was called on c, for Write and
// Writev. Loop only.
func (c *Conn) writeShut() bool {
	r := c.rare()
	return r != nil && r.wshut != wshutNone || c.reqs.Load()&reqWriteShut != 0
}

// writeShutApplied reports whether CloseWrite took effect, for AsyncWrite
// tasks: those queued before it still go out. Loop only.
func (c *Conn) writeShutApplied() bool {
	r := c.rare()
	return r != nil && r.wshut >= wshutWant
}

// shutPending reports whether c's write side is to be shut down once its
// output is sent. Loop only.
func (c *Conn) shutPending() bool {
	r := c.rare()
	return r != nil && r.wshut == wshutWant
}

// abortPending reports whether CloseWithError was called on c on the loop
// and its abort task has not run yet: nothing more may be sent. Loop only.
func (c *Conn) abortPending() bool {
	r := c.rare()
	return r != nil && r.aborting
}

// counted reports whether c is in Server.nconns (see connRare.refused).
func (c *Conn) counted() bool {
	return c.ext == nil || c.ext.rare == nil || !c.ext.rare.refused
}

// handler returns c's handler: the server's, or a dialed conn's own.
func (c *Conn) handler() Handler {
	if x := c.ext; x != nil && x.rare != nil && x.rare.h != nil {
		return x.rare.h // a dialed conn's (set before c was published), or SetHandler's
	}
	return c.l.s.h
}

// x returns c.ext, allocating it. Loop only.
func (c *Conn) x() *connExt {
	if c.ext == nil {
		c.ext = &connExt{timer: Timer{l: c.l, c: c, idx: -1}}
	}
	return c.ext
}

// r returns c.ext.rare, allocating both. Loop only.
func (c *Conn) r() *connRare {
	x := c.x()
	if x.rare == nil {
		x.rare = &connRare{}
	}
	return x.rare
}

// rare returns c.ext.rare or nil.
func (c *Conn) rare() *connRare {
	if c.ext == nil {
		return nil
	}
	return c.ext.rare
}

// sending is the part of the in-flight send not yet sent. Loop only.
func (c *Conn) sending() []byte { return c.bufs.sendBuf[c.bufs.sendOff:] }

// keptIn is the number of bytes of kept input. Loop only.
func (c *Conn) keptIn() int {
	if c.bufs == nil {
		return 0
	}
	return len(c.bufs.in)
}

// Write copies b into the outbound queue; it is sent at the end of the loop
// iteration (one send per conn per iteration carrying everything queued).
// Loop only.
func (c *Conn) Write(b []byte) (int, error) {
	if c.state != stateOpen && c.state != stateConnecting || c.closeRequested() {
		return 0, ErrClosed
	}
	if c.writeShut() {
		return 0, ErrWriteClosed
	}
	n := len(b)
	if c.asyncQueued.Load() > 0 {
		// AsyncWrites still in the task queue (the loop's own among them) go
		// first: they are queued now, and this write behind them, so that it
		// counts at once in Buffered, NotifySent and the water marks.
		if !c.l.takeWrites(c) {
			if err := c.queueBehindAsync(b); err != nil {
				return 0, err
			}
			return n, nil
		}
		if c.state != stateOpen && c.state != stateConnecting || c.closeRequested() {
			return 0, ErrClosed // a done callback closed c
		}
		if c.writeShut() {
			return 0, ErrWriteClosed // a done callback called CloseWrite
		}
		c.l.queueOut(c, b)
		return n, nil
	}
	if n >= directWriteMin {
		b = c.l.writeDirect(c, b)
	}
	c.l.queueOut(c, b)
	return n, nil
}

// takeWrites queues now, in order, c's AsyncWrites still in the task queue,
// so that a Write on the loop can follow them at once (and count in
// Buffered, NotifySent and the water marks): they were all queued before it.
// Inside a task (an Execute func) it takes none: that Write takes the task's
// place in the queue, ahead of the AsyncWrites queued after the task (the
// caller's later ones among them), so it goes out at once. It reports false
// when a task of c other than a write comes first: the write then queues
// behind it as a task. Done callbacks may run (and close c). Loop only.
func (l *Loop) takeWrites(c *Conn) bool {
	if l.inTask {
		return true
	}
	blocked := false
	l.mu.Lock()
	for i := range l.tasks {
		t := &l.tasks[i]
		if t.c != c || t.kind == taskTaken {
			continue
		}
		if t.kind != taskWrite {
			blocked = true
			break
		}
		l.taken = append(l.taken, *t)
		*t = task{kind: taskTaken}
	}
	l.mu.Unlock()
	// A runtime.Goexit in a done callback: what is left goes back to the
	// head of the queue, for the teardown (closeQueue) to fail.
	defer func() {
		if len(l.taken) > 0 {
			l.requeue(l.taken)
			l.taken = nil
		}
	}()
	// From l.taken, not a local list: a done callback that writes (a nested
	// call) queues what is left of it first, in order.
	for len(l.taken) > 0 {
		t := l.taken[0]
		l.taken[0] = task{}
		l.taken = l.taken[1:]
		l.asyncWrite(t.c, t.b, t.done)
	}
	l.taken = nil
	return !blocked
}

// queueBehindAsync queues a copy of b as a write task, behind the AsyncWrites
// still in the task queue, so that a Write made on the loop after the loop's
// own AsyncWrite keeps its order. Loop only.
func (c *Conn) queueBehindAsync(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	cp := append([]byte(nil), b...)
	w := asyncWeight(cp)
	c.asyncQueued.Add(w)
	if err := c.l.enqueue(task{kind: taskWrite, c: c, b: cp}); err != nil {
		c.asyncQueued.Add(-w)
		return ErrClosed
	}
	return nil
}

// Writev is Write of every buffer of bs, in order. Loop only.
func (c *Conn) Writev(bs [][]byte) (int, error) {
	if c.state != stateOpen && c.state != stateConnecting || c.closeRequested() {
		return 0, ErrClosed
	}
	if c.writeShut() {
		return 0, ErrWriteClosed
	}
	n := 0
	if c.asyncQueued.Load() > 0 && !c.l.takeWrites(c) {
		var all []byte
		for _, b := range bs {
			all = append(all, b...)
		}
		if err := c.queueBehindAsync(all); err != nil {
			return 0, err
		}
		return len(all), nil
	}
	if c.state != stateOpen && c.state != stateConnecting || c.closeRequested() {
		return 0, ErrClosed // a done callback of a write takeWrites queued closed c
	}
	if c.writeShut() {
		return 0, ErrWriteClosed // ... or called CloseWrite
	}
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
// Safe from any goroutine. On the loop, a Write made after an AsyncWrite goes
// out after it, except in a func run by Execute: there Write goes out at
// once, at the place of the func in the task queue, so ahead of AsyncWrites
// queued after the func was (the Execute caller's later ones) and of the
// func's own (on the loop, use Write). A loop Write outside a task (OnData,
// a timer) takes all of its conn's queued AsyncWrites first, those queued
// behind a func that has not run yet included: a goroutine whose Execute'd
// func writes, then AsyncWrites, keeps that order only if the loop writes
// nothing to the conn in between (else send both with AsyncWrite).
//
// The queue is bounded (WithAsyncWriteLimit, default DefaultAsyncWriteLimit
// bytes): when output is already pending on c (queued on the conn, or
// AsyncWrite bytes the loop has not taken yet) and b would take it over the
// limit, AsyncWrite returns ErrQueueFull at once without taking b, and done
// is not called. It never blocks. A write into an empty queue is always
// taken, whatever its size. Output queued on the loop with Write counts once
// it reaches 64 KiB (or a quarter of a smaller limit): below, the loop does
// not publish it. Retry after a done callback reported progress (or later);
// a peer that does not read keeps the queue full.
func (c *Conn) AsyncWrite(b []byte, done func(error)) error {
	n := asyncWeight(b)
	q := c.asyncQueued.Add(n)
	if len(b) > 0 {
		if pending := q - n + c.asyncOut.Load(); pending > 0 && pending+n > c.l.s.cfg.asyncLimit {
			c.asyncQueued.Add(-n)
			return ErrQueueFull
		}
	}
	if err := c.l.enqueue(task{kind: taskWrite, c: c, b: b, done: done}); err != nil {
		c.asyncQueued.Add(-n)
		return err
	}
	return nil
}

// asyncWeight is what an AsyncWrite of b adds to asyncQueued until the loop
// takes it: its length, and 1 for an empty one, so that a non-zero
// asyncQueued means AsyncWrite tasks are queued (CloseWrite orders behind
// them).
func asyncWeight(b []byte) int64 { return int64(max(len(b), 1)) }

// Close closes the connection after flushing queued output: then FIN, and
// OnClose runs with a nil error. If the peer has sent input that c did not
// read, or c's output has not all been transmitted (and the peer sent no
// EOF), the loop then reads and discards what the peer still sends until
// the peer has acknowledged all the output (TCP) or sent its EOF, for at
// most 2 seconds, before it closes the fd: closing a socket that receives
// input resets it, which loses output the peer has not received yet (a
// lingering close; Shutdown waits for it). The flush waits for the peer as
// long as it takes: a peer that reads nothing holds the conn, its queued
// output and its place under WithMaxConns until a write deadline or idle
// timeout set on c ends it (CloseWithError, or Server.Close, does at once).
// No OnData call follows a Close made on the loop. Idempotent. Safe from any
// goroutine.
func (c *Conn) Close() error {
	if c.reqs.Or(reqClose)&reqClose != 0 {
		return nil
	}
	if err := c.l.enqueue(task{kind: taskClose, c: c}); err != nil {
		return nil // the loop is gone: its teardown closed c
	}
	return nil
}

// SetHandler makes h the handler of c's later events: OnData, OnReadEOF
// (when h implements ReadEOFHandler; else the peer's EOF closes c) and
// OnClose. h.OnOpen is not called. Called from OnData, the part of the
// input that call leaves unconsumed is shown to h.OnData at once, as input
// h has not seen; called elsewhere (OnOpen, a timer, Loop.Execute) it only
// changes the handler. This is how a protocol hands a connection over to
// another, as an HTTP server does after a 101 (Switching Protocols)
// response. Loop only.
func (c *Conn) SetHandler(h Handler) {
	if h == nil {
		return
	}
	c.r().h = h
	if c.l.inData == c {
		c.l.switched = true
	}
}

// CloseWrite shuts down c's write side once the output queued before it is
// sent: the peer reads that output, then EOF (a TCP FIN), and c goes on
// reading, as net.TCPConn.CloseWrite does for a proxy or a request-response
// protocol that marks its end with EOF. Later Write and Writev calls fail
// with ErrWriteClosed, and so do AsyncWrites queued after it (their done
// callbacks get ErrWriteClosed); AsyncWrites queued before it from the same
// goroutine are still sent. c is still open: it ends with Close, an error, a
// deadline or idle timeout, or the peer's EOF for a Handler without
// ReadEOFHandler. Called on a dialed conn still connecting, it applies once
// the conn is connected. It returns ErrClosed if c is closed or closing
// (from another goroutine: if Close or CloseWithError was called; a close
// the loop began itself, at the peer's EOF or in Shutdown, makes the queued
// CloseWrite a no-op). Idempotent. Safe from any goroutine.
func (c *Conn) CloseWrite() error {
	// On the loop it applies at once, unless AsyncWrites are still in the
	// task queue: then it queues behind them, as from another goroutine, and
	// Write and Writev fail from now on.
	if c.l.onLoop() {
		if c.asyncQueued.Load() == 0 {
			return c.l.closeWrite(c)
		}
		return c.l.queueCloseWrite(c)
	}
	if c.closeRequested() {
		return ErrClosed
	}
	c.reqs.Or(reqWriteShut) // before the task: the loop sees it once it may see the task
	if c.l.enqueue(task{kind: taskCloseWrite, c: c}) != nil {
		return ErrClosed // the loop is gone: its teardown closed c
	}
	return nil
}

// CloseWithError closes c at once: queued output is dropped and OnClose
// gets err (ErrClosed if err is nil). After Close it ends the flush Close
// waits for (OnClose gets err), as it aborts a graceful close the loop began
// itself (at the peer's EOF, or Shutdown's close of an idle conn); a Close
// after it does nothing, and of two CloseWithError calls the first wins.
// Safe from any goroutine.
func (c *Conn) CloseWithError(err error) error {
	if err == nil {
		err = ErrClosed
	}
	// No compare-and-swap: a Close before it may be flushing for ever (a peer
	// that reads nothing). A second abort task finds c closed and does nothing.
	c.reqs.Or(reqClose)
	if c.l.onLoop() {
		if c.state >= stateClosed {
			return nil
		}
		// Its task runs later in this iteration; nothing queued is sent
		// meanwhile (the epoll backend flushes right after OnData).
		c.r().aborting = true
		if c.l.enqueue(task{kind: taskAbort, c: c, err: err}) != nil {
			// The queue is closed: the loop's teardown (a func it runs, or an
			// OnClose) would close c with ErrServerClosed instead.
			c.l.finish(c, err)
		}
		return nil
	}
	c.l.enqueue(task{kind: taskAbort, c: c, err: err})
	return nil
}

// Reset closes c at once, as CloseWithError(nil), and makes the kernel
// answer with a reset (RST, SO_LINGER 0) instead of an orderly FIN: queued
// output is dropped, and the peer's reads fail (ECONNRESET), possibly before
// it has read what it was sent. For a protocol whose message ends at the
// close (an HTTP/1.0 body), so that an aborted one is not taken for
// complete, or a proxy passing a reset on. A unix socket has no reset:
// there Reset closes c as CloseWithError(nil) and returns
// errors.ErrUnsupported (the peer reads what it was sent, then EOF, or
// ECONNRESET if c left input unread). Loop only (the fd is c's only until it
// is released).
func (c *Conn) Reset() error {
	if c.state >= stateClosed {
		return ErrClosed
	}
	if c.peer.kind == 0 {
		// Not TCP (a TCP conn always has its peer's address): SO_LINGER does nothing.
		_ = c.CloseWithError(nil)
		return errors.ErrUnsupported
	}
	_ = unix.SetsockoptLinger(int(c.fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	return c.CloseWithError(nil)
}

// Context returns the value set by SetContext. Loop only.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value to c. Loop only.
func (c *Conn) SetContext(v any) { c.ctx = v }

// ipPortOrAddr is a dialed conn's local address: ip for TCP, else addr.
type ipPortOrAddr struct {
	ip   ipPort
	addr net.Addr
}

// LocalAddr returns the local address. For TCP it is a new *net.TCPAddr
// on each call (the conn keeps the address in compact form). A conn from
// Loop.Dial has none until its connect completes. Safe from any goroutine.
func (c *Conn) LocalAddr() net.Addr {
	if c.local.kind == kindDialed {
		// ext.rare exists from Dial on and is never replaced (see connRare).
		if a := c.ext.rare.dialLocal.Load(); a != nil {
			if a.ip.kind != 0 {
				return a.ip.tcpAddr()
			}
			return a.addr
		}
		return nil
	}
	if a := c.local.tcpAddr(); a != nil {
		return a
	}
	if r := c.rare(); r != nil && r.laddr != nil {
		return r.laddr
	}
	return nil
}

// RemoteAddr returns the peer address. For TCP it is a new *net.TCPAddr on
// each call (the conn keeps the address in compact form). Safe from any
// goroutine.
func (c *Conn) RemoteAddr() net.Addr {
	if a := c.peer.tcpAddr(); a != nil {
		return a
	}
	if r := c.rare(); r != nil && r.raddr != nil {
		return r.raddr
	}
	return nil
}

// LocalAddrPort returns the local TCP address without allocating; it is
// the zero netip.AddrPort (IsValid false) for other networks, and for a
// dialed conn until its connect completes. Safe from any goroutine.
func (c *Conn) LocalAddrPort() netip.AddrPort {
	if c.local.kind == kindDialed {
		if a := c.ext.rare.dialLocal.Load(); a != nil {
			return a.ip.addrPort()
		}
		return netip.AddrPort{}
	}
	return c.local.addrPort()
}

// RemoteAddrPort returns the peer's TCP address without allocating (a
// handler may log or hash it per message); it is the zero netip.AddrPort
// (IsValid false) for other networks. Safe from any goroutine.
func (c *Conn) RemoteAddrPort() netip.AddrPort { return c.peer.addrPort() }

// Loop returns c's loop. Safe from any goroutine.
func (c *Conn) Loop() *Loop { return c.l }

// Fd returns the socket descriptor (for socket options). Do not read,
// write or close it. Loop only.
func (c *Conn) Fd() int { return int(c.fd) }

// NotifySent calls f once no more than n bytes of the output queued on c
// now are left unsent: at once (before NotifySent returns) if that is the
// case already, or with the error that closes c (ErrClosed after a graceful
// close) if c closes first. Output queued later does not delay it. It is how
// a producer keeps a connection's queue short without polling: write until
// Buffered is above a mark, then continue from f. Loop only.
func (c *Conn) NotifySent(n int, f func(error)) {
	l := c.l
	if c.state != stateOpen && c.state != stateConnecting && c.state != stateClosing {
		// (closing: its queued output still goes out; finish reports the rest)
		l.safeCall(func() { f(ErrClosed) })
		return
	}
	n = max(n, 0)
	q := c.Buffered()
	if q <= n {
		l.safeCall(func() { f(nil) })
		return
	}
	x := c.r()
	end := x.sent + uint64(q-n)
	i := len(x.dones)
	for i > x.doneHead && x.dones[i-1].end > end {
		i-- // an AsyncWrite's callback queued earlier waits for more
	}
	x.dones = slices.Insert(x.dones, i, doneEntry{end: end, f: f})
}

// WriteBlocked reports whether c's queued output went above the write
// high-water mark: reading is paused until it drains to the low mark, and
// input an OnData call left unconsumed is presented again then. A protocol
// that answers pipelined requests stops taking new ones while it is true,
// so a client that sends requests and does not read the answers cannot make
// it queue without bound. Loop only.
func (c *Conn) WriteBlocked() bool { return c.hwPaused }

// Buffered returns the bytes queued and not yet sent. Loop only.
func (c *Conn) Buffered() int {
	q := c.bufs
	if q == nil {
		return 0
	}
	return len(q.out) + len(q.sendBuf) - int(q.sendOff)
}

// SetIdleTimeout closes c with ErrIdleTimeout after d without reads or
// writes; 0 disables. A peer still taking output from the kernel's send
// queue (a large output read slowly) is activity, checked when d ends: a
// peer that takes nothing is closed after d, or after up to 2d when the
// reactor had handed all its output to the kernel. Loop only.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if d == 0 && c.ext == nil {
		return
	}
	c.x().idle = d
	c.l.maxIdle = max(c.l.maxIdle, int64(d))
	c.lastActive = c.l.mono
	c.l.scheduleConnTimer(c)
}

// SetReadDeadline closes c with ErrDeadline (os.ErrDeadlineExceeded) when t
// passes; the zero time disables. It no longer applies once c is closing
// (Close, the peer's EOF): c reads no more, and its output still goes out
// (bound that with a write deadline or idle timeout). Loop only.
func (c *Conn) SetReadDeadline(t time.Time) {
	if t.IsZero() && c.ext == nil {
		return
	}
	c.x().readDL = c.l.deadline(t)
	c.l.scheduleConnTimer(c)
}

// SetWriteDeadline closes c with ErrDeadline when t passes while output is
// still queued, or when output is queued after t has passed (a Write sent
// whole at once is not failed); the zero time disables. Loop only.
func (c *Conn) SetWriteDeadline(t time.Time) {
	if t.IsZero() && c.ext == nil {
		return
	}
	c.x().writeDL = c.l.deadline(t)
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
	return c.state == stateOpen && !c.userPaused && !c.hwPaused && !c.eofSeen && !c.closeRequested()
}

// idleForShutdown reports whether Shutdown may close c now.
func (c *Conn) idleForShutdown() bool {
	return c.state == stateOpen && !c.busy && c.Buffered() == 0 && c.keptIn() == 0 &&
		c.asyncQueued.Load() == 0 // an AsyncWrite accepted but not yet run
}
