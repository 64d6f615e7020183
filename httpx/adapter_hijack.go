package httpx

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Hijack: a FromHTTP handler takes the connection over (http.Hijacker), for WebSocket and other
// protocol upgrades (not CONNECT: the parser answers it with 501). From then on the loop no
// longer parses HTTP on the connection: the bytes that followed the request, and all it
// receives later, go to the net.Conn the handler got (hijackConn), and what the handler writes
// to it is queued with reactor.Conn.AsyncWrite. The connection stays on its loop; the net.Conn
// is a view of it.

var errHijackBody = errors.New("httpx: Hijack before the whole request body arrived")

// hijackChunk bounds the bytes of one AsyncWrite of a hijacked connection, so a large Write
// does not need the whole write limit at once.
const hijackChunk = 64 << 10

// hijackConn is the net.Conn of a hijacked connection, with CloseWrite as *net.TCPConn has. Reads
// come from an inbox the loop fills (feed); when it holds high bytes or more the loop stops
// reading from the socket until Read has taken it down to high/2. Writes are copied and queued
// with AsyncWrite in pieces of at most hijackChunk; a Write that finds the queue over the
// reactor's limit waits until the loop has sent some of it, the connection is gone or the write
// deadline passes. Close closes the connection after its queued output, which it gives a
// bounded time (see Close). Safe from any goroutine, as net.Conn requires: concurrent Reads each
// get bytes or the end (a Read that takes bytes and leaves some, or ends, wakes the next one).
type hijackConn struct {
	c    *reactor.Conn
	ct   *connTransport
	high int

	mu         sync.Mutex // guards the fields below
	buf        []byte     // received, not yet read (buf[off:])
	off        int
	rerr       error // io.EOF after the peer's EOF, or why the connection ended; read after buf
	werr       error // why writes fail: the connection ended
	closed     bool  // Close was called
	wclosed    bool  // CloseWrite was called
	wantResume bool  // the loop paused reading because the inbox was full

	wake     chan struct{} // capacity 1: data, EOF or an end for the reader
	progress chan struct{} // capacity 1: the loop sent queued bytes, or the connection ended
	done     chan struct{} // closed by Close or when the connection ends
	wrote    func(error)   // AsyncWrite's callback (made once)
	inflight atomic.Int64  // AsyncWrites queued whose callback has not run yet
	drained  func()        // runs on the loop: notify progress once the conn's queue is sent
	resume   func()        // runs on the loop: resume reading (made once)

	wmu    sync.Mutex // one Write at a time, so pieces of two Writes do not interleave
	rd, wd deadline
}

func newHijackConn(ct *connTransport, high int) *hijackConn {
	h := &hijackConn{c: ct.c, ct: ct, high: high,
		wake: make(chan struct{}, 1), progress: make(chan struct{}, 1), done: make(chan struct{})}
	h.rd.init()
	h.wd.init()
	h.wrote = func(error) { h.inflight.Add(-1); notify(h.progress) }
	h.drained = func() { h.c.NotifySent(0, func(error) { notify(h.progress) }) }
	h.resume = func() {
		if ct.hijacker() == h {
			ct.c.ResumeReading()
		}
	}
	return h
}

// feed appends a copy of b to the inbox (loop only) and reports whether reading must pause.
func (h *hijackConn) feed(b []byte) bool {
	h.mu.Lock()
	if h.closed || h.rerr != nil {
		h.mu.Unlock()
		return false
	}
	h.buf, h.off = appendUnread(h.buf, h.off, b)
	full := len(h.buf)-h.off >= h.high
	if full {
		h.wantResume = true
	}
	h.mu.Unlock()
	notify(h.wake)
	return full
}

// end records why reads (after the inbox) and writes end (loop only): rerr io.EOF for the
// peer's EOF (writes go on), else the connection is gone.
func (h *hijackConn) end(rerr, werr error) {
	h.mu.Lock()
	if h.rerr == nil {
		h.rerr = rerr
	}
	if werr != nil && h.werr == nil {
		h.werr = werr
		h.closeDone()
	}
	h.mu.Unlock()
	notify(h.wake)
	notify(h.progress)
}

// closeDone closes done once (h.mu held).
func (h *hijackConn) closeDone() {
	if !isClosed(h.done) {
		close(h.done)
	}
}

// Read implements net.Conn.
func (h *hijackConn) Read(b []byte) (int, error) {
	h.mu.Lock()
	for {
		if h.closed {
			h.mu.Unlock()
			return 0, net.ErrClosed
		}
		if h.rd.passed() {
			h.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		if h.off < len(h.buf) {
			break
		}
		if h.rerr != nil {
			err := h.rerr
			h.mu.Unlock()
			notify(h.wake) // another Read waiting gets the end too
			return 0, err
		}
		if len(b) == 0 {
			h.mu.Unlock()
			return 0, nil
		}
		h.mu.Unlock()
		select {
		case <-h.wake:
		case <-h.rd.wait():
		case <-h.done:
		}
		h.mu.Lock()
	}
	n := copy(b, h.buf[h.off:])
	h.off += n
	resume := h.wantResume && len(h.buf)-h.off <= h.high/2
	if resume {
		h.wantResume = false
	}
	more := h.off < len(h.buf)
	h.mu.Unlock()
	if more {
		notify(h.wake) // another Read waiting takes the rest (wake holds one token)
	}
	if resume {
		h.ct.execute(h.resume)
	}
	return n, nil
}

// Write implements net.Conn.
func (h *hijackConn) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, h.closedErr() // as net.TCPConn's: nothing to send, but not after Close
	}
	h.wmu.Lock()
	defer h.wmu.Unlock()
	n := 0
	for n < len(b) {
		if err := h.writeErr(); err != nil {
			return n, err
		}
		if h.wd.passed() {
			return n, os.ErrDeadlineExceeded
		}
		piece := b[n:min(len(b), n+hijackChunk)]
		h.inflight.Add(1)
		err := h.c.AsyncWrite(append([]byte(nil), piece...), h.wrote)
		if err != nil {
			h.inflight.Add(-1)
		}
		if err == reactor.ErrQueueFull {
			if h.inflight.Load() == 0 {
				// The queue is full of output none of this conn's Writes queued (the
				// response written before Hijack): no callback of ours will report
				// progress, so ask the loop to report when that output is sent.
				h.ct.execute(h.drained)
			}
			select {
			case <-h.progress:
			case <-h.done:
			case <-h.wd.wait():
			}
			continue
		}
		if err != nil {
			h.end(net.ErrClosed, net.ErrClosed)
			return n, h.writeErr()
		}
		n += len(piece)
	}
	return n, nil
}

func (h *hijackConn) writeErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return net.ErrClosed
	}
	if h.werr == nil && h.wclosed {
		return reactor.ErrWriteClosed
	}
	return h.werr
}

// CloseWrite shuts down the writing side, as net.TCPConn.CloseWrite does: the client reads what
// was written before, then EOF, and reading goes on. Later Writes fail with
// reactor.ErrWriteClosed. A Write in progress on another goroutine stops at once (it reports
// what it queued and ErrWriteClosed), even one waiting for the output queue to drain; the EOF
// follows what it queued.
func (h *hijackConn) CloseWrite() error {
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return net.ErrClosed
	case h.werr != nil:
		h.mu.Unlock()
		return h.werr
	case h.wclosed:
		h.mu.Unlock()
		return nil // idempotent, as net.TCPConn's
	}
	h.wclosed = true
	h.mu.Unlock()
	notify(h.progress) // a Write waiting for room sees wclosed and returns
	// A Write in progress queues no piece after it has seen wclosed: once it has let go of
	// wmu, the FIN is queued behind everything it queued.
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if err := h.c.CloseWrite(); err != nil {
		return net.ErrClosed
	}
	return nil
}

// Close implements net.Conn: the connection closes once its queued output is sent, or when the
// time it has for that ends.
func (h *hijackConn) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return net.ErrClosed
	}
	h.closed = true
	h.buf, h.off = nil, 0
	h.closeDone()
	h.mu.Unlock()
	notify(h.wake)
	h.rd.stop()
	// What is still queued gets until the write deadline, else the Server's WriteTimeout, else
	// closeDrain, to reach the client; then the connection is dropped (the kernel does not keep
	// a closed socket's output for a client that stopped reading forever either). A write
	// deadline that has passed drops it at once: the hijacker gave up on its writes.
	dl := h.wd.at()
	h.wd.stop()
	if dl.IsZero() {
		d := h.ct.s.WriteTimeout
		if d <= 0 {
			d = closeDrain
		}
		dl = time.Now().Add(d)
	}
	c := h.c
	if !h.ct.execute(func() { c.SetWriteDeadline(dl); c.Close() }) {
		c.Close() // the loop is gone: its teardown closed c
	}
	return nil
}

// closeDrain bounds how long a closed hijacked connection keeps its queued output for a client
// that does not read, when neither a write deadline nor a WriteTimeout is set.
const closeDrain = 30 * time.Second

// LocalAddr implements net.Conn.
func (h *hijackConn) LocalAddr() net.Addr { return h.c.LocalAddr() }

// RemoteAddr implements net.Conn.
func (h *hijackConn) RemoteAddr() net.Addr { return h.c.RemoteAddr() }

// SetDeadline implements net.Conn; after Close it fails with net.ErrClosed, as net.TCPConn's.
func (h *hijackConn) SetDeadline(t time.Time) error {
	if err := h.closedErr(); err != nil {
		return err
	}
	h.rd.set(t)
	h.wd.set(t)
	return nil
}

// SetReadDeadline implements net.Conn (net.ErrClosed after Close).
func (h *hijackConn) SetReadDeadline(t time.Time) error {
	if err := h.closedErr(); err != nil {
		return err
	}
	h.rd.set(t)
	return nil
}

// SetWriteDeadline implements net.Conn (net.ErrClosed after Close).
func (h *hijackConn) SetWriteDeadline(t time.Time) error {
	if err := h.closedErr(); err != nil {
		return err
	}
	h.wd.set(t)
	return nil
}

// closedErr is net.ErrClosed once Close was called, else nil. A deadline set after Close would
// arm a timer for a connection nobody uses.
func (h *hijackConn) closedErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return net.ErrClosed
	}
	return nil
}

// deadline is one direction's deadline of a hijackConn: a channel closed when it passes, which
// wakes a Read or Write waiting at that moment, and replaced when the deadline is moved.
type deadline struct {
	mu    sync.Mutex
	ch    chan struct{}
	timer *time.Timer
	gen   uint64    // set calls so far: a timer of an earlier call closes nothing
	t     time.Time // as last set
}

func (d *deadline) init() { d.ch = make(chan struct{}) }

// set moves the deadline to t (zero: none).
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopLocked()
	d.t = t
	if isClosed(d.ch) {
		d.ch = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		close(d.ch)
		return
	}
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen && !isClosed(d.ch) {
			close(d.ch)
		}
	})
}

// stop stops d's timer (Close: a pending timer would keep the conn reachable until it fires).
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopLocked()
}

// stopLocked stops the timer (d.mu held). Its func may be running already, waiting for d.mu:
// the new generation makes it close nothing.
func (d *deadline) stopLocked() {
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

// at returns the deadline's time as last set (zero: none); for Close.
func (d *deadline) at() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.t
}

// wait returns the channel closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

func (d *deadline) passed() bool { return isClosed(d.wait()) }

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Hijack implements http.Hijacker. The request's body must have arrived whole (a GET upgrade
// has none); what of it the handler did not read stays readable from Request.Body. A header
// written with WriteHeader (a 101 for an upgrade) goes out first, without framing fields. The
// returned bufio.Reader holds nothing yet: bytes that followed the request are read from the
// net.Conn. After Hijack the ResponseWriter fails with http.ErrHijacked, the request's Context
// still ends when the handler returns, and the connection is the handler's to close.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.ar.ended.Load() {
		return nil, nil, errHandlerReturned
	}
	if w.failed != nil {
		return nil, nil, w.failed
	}
	ar := w.ar
	ct, ok := ar.t.(*connTransport)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	if ar.pipe != nil && !ar.pipe.complete() {
		return nil, nil, errHijackBody
	}
	var head []byte
	if w.headerSent {
		if err := w.flush(false); err != nil {
			return nil, nil, err
		}
	} else if w.wroteHeader {
		// The header as net/http writes it for a hijacked response: status, Date and the
		// handler's fields (Connection included), no framing; then what the handler
		// buffered, as it is.
		head = statusLineFor(make([]byte, 0, 256+len(w.lines)), w.status)
		if !w.hasDate {
			head = ar.e.cfg.dateLine(head)
		}
		head = w.appendConnection(head)
		head = append(head, w.lines...)
		head = append(head, crlf...)
		if !w.isHead {
			head = append(head, w.body()...)
		}
	}
	ack := ar.ackChan()
	h := newHijackConn(ct, ar.a.bodyBuffer)
	hijack := func() {
		err := ar.hijack(head, h)
		if !ar.gone { // else connGone closed ack: the receive below sees it
			ack <- err
		}
	}
	if ack == nil || !ct.execute(hijack) {
		w.failed = errClientGone
		return nil, nil, w.failed
	}
	if err, ok := <-ack; !ok {
		w.failed = errClientGone
		return nil, nil, w.failed
	} else if err != nil {
		return nil, nil, err
	}
	w.headerSent = true
	w.failed = http.ErrHijacked
	// The connection is no longer a request: the handler stops counting against
	// WithMaxHandlers, however long it keeps the session.
	ar.e.cfg.pool.detach(ar.inline)
	ar.detached = true
	hd := &hijacked{h}
	runtime.AddCleanup(hd, (*hijackConn).dropped, h)
	return hd, bufio.NewReadWriter(bufio.NewReader(hd), bufio.NewWriter(hd)), nil
}

// hijacked is what Hijack hands out: the handler's handle on its hijackConn. The loop holds only
// the hijackConn, so a handle the handler dropped without Close becomes unreachable, and a
// cleanup then closes the connection, as net/http's finalizer does for a dropped *net.TCPConn
// (without it the connection would stay on its loop until the client closed it, and a client
// that half-closed would keep it forever: hijacked connections have no idle timeout).
type hijacked struct{ *hijackConn }

// Read, Write and CloseWrite can block: each keeps the handle reachable until it returns, or
// the cleanup could close the conn under a handler whose last use of it is that call (a GC
// while it waits). The methods promoted from hijackConn would not: they need only the inner
// pointer once called.

func (hd *hijacked) Read(b []byte) (int, error) {
	n, err := hd.hijackConn.Read(b)
	runtime.KeepAlive(hd)
	return n, err
}

func (hd *hijacked) Write(b []byte) (int, error) {
	n, err := hd.hijackConn.Write(b)
	runtime.KeepAlive(hd)
	return n, err
}

func (hd *hijacked) CloseWrite() error {
	err := hd.hijackConn.CloseWrite()
	runtime.KeepAlive(hd)
	return err
}

// dropped closes h once its handle is unreachable (runs on a cleanup goroutine).
func (h *hijackConn) dropped() { _ = h.Close() }

// hijack hands the connection over to h (loop only): head goes out first, the bytes received
// after the request are h's first input, and the Server's timeouts stop applying.
func (ar *asyncReq) hijack(head []byte, h *hijackConn) error {
	e := ar.e
	ct := h.ct
	switch {
	case ar.gone || e.closed || e.closing || e.async != ar:
		return errClientGone
	case e.state != stAsyncWait:
		return errHijackBody
	}
	if len(head) > 0 {
		ar.respStarted = true
		e.out = append(e.out, head...)
	}
	if len(e.out) > 0 {
		_, _ = ct.c.Write(e.out)
		e.out = e.out[:0]
	}
	ar.hijacked = true
	e.state = stHijacked
	e.ac.hj = h
	ct.ac = e.ac // the engine is never released again; ct.ac is where events look
	c := ct.c
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Time{})
	ct.dropMarks()
	c.SetIdleTimeout(0)
	c.SetBusy(true) // Shutdown does not close it as idle
	// Reading may be paused for the request (its body pipe full, or input held behind it);
	// from now on only h's inbox decides.
	pending := e.carry
	e.carry = nil
	e.holdPaused, ar.bodyPaused = false, false
	if len(pending) > 0 && h.feed(pending) {
		c.PauseReading()
	} else {
		c.ResumeReading()
	}
	if e.eof {
		h.end(io.EOF, nil)
	}
	return nil
}

// hijacker returns the hijackConn of a hijacked connection, else nil (loop only). It lives in
// adapterConn, which every FromHTTP connection has, so the connTransport of every idle
// connection does not grow by it.
func (ct *connTransport) hijacker() *hijackConn {
	if ct.ac == nil {
		return nil
	}
	return ct.ac.hj
}

// hijackedData takes input of a hijacked connection (loop only).
func (ct *connTransport) hijackedData(h *hijackConn, data []byte) int {
	if h.feed(data) {
		ct.c.PauseReading()
	}
	return len(data)
}

// hijackedClose ends h when its connection closed with err (loop only).
func hijackedClose(h *hijackConn, err error) {
	rerr, werr := err, err
	if err == nil || errors.Is(err, reactor.ErrClosed) {
		rerr, werr = io.EOF, net.ErrClosed
	}
	h.end(rerr, werr)
}
