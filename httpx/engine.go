package httpx

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"

	"github.com/ringo-io/ringo/reactor"
)

// The engine is one HTTP/1.1 connection without I/O ("sans-IO"): its owner hands it input with
// feed (a slice valid only during the call), and the engine parses requests, runs the handler,
// and hands response bytes back through its transport. Everything runs on the owner's goroutine
// (the connection's loop); the FromHTTP path re-enters through transport.execute.
//
// Input ownership: feed always consumes all it is given. A request that is not complete yet is
// copied into the engine's carry buffer (the head plus the unconsumed rest of the body; chunk
// bytes already decoded are dropped), and later input is appended to it. The common case, a
// whole request in one read, is parsed in place and never copied.
//
// Ordering: requests are handled strictly one after the other. A fast-path handler finishes
// before the next request is parsed. While a FromHTTP handler runs, input after its request is
// held unparsed in carry (reading is paused when it grows) and parsing resumes only when its
// response is complete, so responses leave in request order and a request's bytes are never
// read as two requests.
//
// Errors: a request the parser rejects is answered with its 4xx/5xx status and
// "Connection: close", then the connection closes and any further input is discarded.

// transport is what the engine needs from the owner of its connection.
type transport interface {
	write(b []byte)              // loop only: queue a copy of b for sending
	close()                      // loop only: send what is queued, then close
	abort()                      // loop only: reset the connection, sending nothing more
	pauseReading()               // loop only
	resumeReading()              // loop only
	buffered() int               // loop only: bytes queued but not sent
	writeBlocked() bool          // loop only: output above the high-water mark, reading paused
	execute(f func()) bool       // safe from any goroutine: run f on the loop soon
	whenDrained(n int, f func()) // loop only: run f once at most n bytes are queued (not if the conn closes first)
	remoteAddr() net.Addr        // immutable
	localAddr() net.Addr         // immutable
	touch()                      // loop only: the engine may have changed phase
}

// config is shared by all engines of a server; immutable once serving.
type config struct {
	lim     limits
	fast    HandlerFunc
	adapter *Adapter
	pool    *pool // the FromHTTP worker pool of this server (nil on the fast path)
	logger  *slog.Logger
	// holdMax bounds input held while a FromHTTP handler runs; above it reading is paused.
	holdMax int
	// draining is set by Server.Shutdown before any loop hears of it, so a FromHTTP
	// handler formatting its header on another goroutine sees it at once (safe from any
	// goroutine).
	draining atomic.Bool
	// date is the Date line for FromHTTP handler goroutines (see dateLine).
	date atomic.Pointer[sharedDate]
}

// maxBlankLines bounds the empty lines accepted before a request-line.
const maxBlankLines = 8

// engine states.
const (
	stIdle      = iota // between requests (carry may hold empty lines or the start of one)
	stHead             // inside a request head
	stBody             // inside a request body (fast path: buffered until complete)
	stAsyncBody        // a FromHTTP handler runs; its body is streamed to it
	stAsyncWait        // a FromHTTP handler runs; its body is complete
	stDrainWait        // FromHTTP: the next pipelined request waits for the output to drain (afterDrain)
	stHijacked         // a FromHTTP handler hijacked the connection: the engine is out of it
	stClosed           // closed or closing: input is discarded
)

// Phase tells the owner which timeout applies (see Server).
type phase uint8

const (
	phaseIdle    phase = iota // waiting for the next request: IdleTimeout
	phaseHead                 // reading a head: ReadHeaderTimeout
	phaseBody                 // reading a body: ReadTimeout
	phaseHandler              // a FromHTTP handler runs: no read timeout
	phaseDrain                // FromHTTP: the next request waits for the output to drain: IdleTimeout
	phaseClosed
)

type engine struct {
	cfg *config
	t   transport
	lc  *loopCache // the owner's (per loop); the owner updates its date before feed

	state   uint8
	closing bool // answer nothing more; close once the output is queued
	closed  bool // the transport was closed (close sent or peer gone)
	eof     bool // the peer half-closed: no more input will come (see readEOF)

	carry   []byte // owned copy of input not processed yet (see type comment)
	out     []byte // response bytes not yet handed to the transport
	head    reqHead
	chunk   chunkDecoder
	body    []byte // decoded chunked body (fast path)
	bodyPos int    // next unparsed body byte, relative to the request start
	sentCnt bool   // 100 Continue sent for the current request
	ctx     Ctx
	// inHandler: a fast-path handler is running (see recoverHandler).
	inHandler bool

	seq        uint32        // requests started (a new head phase restarts the header timer)
	blank      int           // empty lines before the current request-line
	async      *asyncReq     // the FromHTTP request in flight, or nil
	ac         *adapterConn  // FromHTTP per-connection state (nil until the first request)
	tmpl       *http.Request // the loop's Request template for FromHTTP (nil: allocate)
	holdPaused bool          // reading paused because carry grew while a FromHTTP handler ran

	// upgradeTo is the handler a fast-path response switched the connection to (Ctx.Upgrade),
	// until the owner hands the connection over; upRest is how many bytes of the last feed's
	// input followed that request (always a suffix of it: carry never holds a whole request).
	upgradeTo reactor.Handler
	upRest    int

	// outRest is how much of the last feed's input was left unparsed because the connection's
	// output is blocked (see process): the reactor keeps it and presents it again once the
	// output drained.
	outRest int
	// outN is the output handed to the transport since the last outCheck (Ctx.Flush writes
	// without going through process).
	outN int
}

func newEngine(cfg *config, t transport, lc *loopCache) *engine {
	e := &engine{cfg: cfg, t: t, lc: lc}
	e.head.memo = lc
	e.ctx.e, e.ctx.h = e, &e.head
	e.head.reset()
	e.head.fields = make([]hfield, 0, 16)
	return e
}

// feed hands the engine input; data is only read during the call. It returns how many bytes
// were consumed: all of them, except input for a new protocol after an upgrade and requests
// left while the output is blocked (loop only).
func (e *engine) feed(data []byte) int {
	if e.state == stClosed || e.closing {
		return len(data)
	}
	e.outRest = 0
	if len(e.carry) > 0 || e.state == stAsyncBody || e.state == stAsyncWait || e.state == stDrainWait {
		old := len(e.carry)
		e.carry = append(e.carry, data...)
		e.process(e.carry, true, old)
	} else {
		e.process(data, false, 0)
	}
	e.flushOut()
	if e.upgradeTo != nil {
		return len(data) - min(e.upRest, len(data))
	}
	return len(data) - min(e.outRest, len(data))
}

// outCheck is how much response output the fast path collects before it hands it to the
// connection and asks whether the output is blocked (see process).
const outCheck = 64 << 10

// outYield bounds the response output one feed produces for pipelined requests while the
// output is not blocked: a response of 16 KiB or more goes out at once when nothing is queued
// (reactor.Conn.Write), so for a client that reads as fast as the loop sends, the output never
// reaches the high-water mark, and one read of small requests for large responses (2,000
// requests of 31 bytes for 1 MiB each in a 64 KiB read) held the loop, and every other
// connection on it, for as long as sending them took. Past it the requests left go back to the
// reactor, reading paused until the loop's next iteration (yieldInput).
const outYield = 1 << 20

// process parses and serves as many requests as buf holds, then saves what is left. buf[:old]
// is input held from earlier calls (carry), which cannot be given back to the reactor.
func (e *engine) process(buf []byte, inCarry bool, old int) {
	defer e.recoverHandler()
	r := 0 // start of the current request in buf
	// wantCnt: the current request's body is cut off at the end of buf; its 100 Continue (if
	// owed) is decided only after the check for blocked output below, which may give the
	// request back to the reactor (then it is parsed again, and must not be answered twice).
	wantCnt := false
	produced := 0 // response output handed to the transport by this call (see outYield)
loop:
	for !e.closing && e.state != stClosed && e.upgradeTo == nil {
		switch e.state {
		case stIdle:
			// RFC 9112 2.2: ignore empty lines before a request-line (a few: endless CRLFs
			// would keep a connection busy without ever starting a request).
			for r+1 < len(buf) && buf[r] == '\r' && buf[r+1] == '\n' {
				r += 2
				e.blank++
			}
			if e.blank > maxBlankLines {
				e.reject(400)
				break loop
			}
			if r == len(buf) || (r+1 == len(buf) && buf[r] == '\r') {
				break loop
			}
			if len(e.out)+e.outN >= outCheck && r >= old && e.cfg.fast != nil {
				// Pipelined requests for large responses: once the connection's output is
				// above its high-water mark (a client that sends and does not read), the
				// requests left go back to the reactor, which presents them again when the
				// output drained, as net/http reads a request only after writing the last
				// response. Else one read of small requests could queue without bound.
				e.writeOut()
				produced += e.outN
				e.outN = 0
				if e.t.writeBlocked() || produced >= outYield && e.yieldInput() {
					e.outRest = len(buf) - r
					e.carry = e.carry[:0]
					if cap(e.carry) > 64<<10 {
						e.carry = nil // as savePartial: the engine goes back to the loop idle
					}
					return
				}
			}
			e.head.reset()
			e.state = stHead
			e.seq++
			e.blank = 0
		case stHead:
			st := e.head.parseHead(buf[r:], &e.cfg.lim)
			if st == statusNeedMore {
				break loop
			}
			if st != statusOK {
				e.reject(st)
				break loop
			}
			e.bodyPos = e.head.headLen
			e.sentCnt = false
			e.chunk.reset()
			if e.cfg.adapter != nil {
				e.startAsync(buf[r:])
				if e.state == stAsyncWait {
					r += e.head.headLen // no body: later input belongs to the next request
				}
				continue
			}
			if !e.head.hasBody() {
				e.serve(buf[r:r+e.head.headLen], nil, nil)
				r += e.head.headLen
				e.state = stIdle
				continue
			}
			e.body = e.body[:0]
			e.state = stBody
		case stBody:
			req := buf[r:]
			if !e.head.chunked {
				end := e.head.headLen + int(e.head.contentLen)
				if len(req) < end {
					wantCnt = true
					break loop
				}
				e.serve(req[:end], req[e.head.headLen:end], nil)
				r += end
				e.state = stIdle
				continue
			}
			st := e.decodeChunks(req)
			if st == statusNeedMore {
				wantCnt = true
				break loop
			}
			if st != statusChunkDone {
				e.reject(st)
				break loop
			}
			e.serve(req[:e.bodyPos], e.body, e.chunk.trailers)
			r += e.bodyPos
			e.state = stIdle
		case stAsyncBody:
			st := e.asyncBody(buf[r:])
			if st == statusNeedMore {
				break loop
			}
			if st == statusChunkDone {
				r += e.bodyPos
				e.state = stAsyncWait
				continue
			}
			// A bad body: the handler's Body.Read fails; the connection closes after the
			// response; the rest of the input is meaningless.
			r = len(buf)
			e.state = stAsyncWait
		case stAsyncWait, stDrainWait:
			break loop
		}
	}
	if e.upgradeTo != nil {
		// The rest is the new protocol's: the owner hands it over (feed's result).
		e.upRest = len(buf) - r
		e.carry = e.carry[:0]
		if cap(e.carry) > 64<<10 {
			e.carry = nil // as savePartial: the engine goes back to the loop idle
		}
		return
	}
	if e.cfg.fast != nil && r >= old && r < len(buf) && len(e.out)+e.outN > 0 && !e.closing &&
		e.state != stClosed && !(e.state == stBody && e.sentCnt) {
		// A request cut off at the end of this input: when the output is blocked (reading
		// paused), it goes back to the reactor with the rest, like the requests after the
		// mark above. Kept in carry, its read timeout would run while the server itself does
		// not read, and close the connection although the client sent the request in time.
		e.writeOut()
		e.outN = 0
		if e.t.writeBlocked() {
			e.state = stIdle
			e.outRest = len(buf) - r
			e.carry = e.carry[:0]
			if cap(e.carry) > 64<<10 {
				e.carry = nil
			}
			return
		}
	}
	if wantCnt {
		e.maybeContinue()
	}
	e.savePartial(buf, r, inCarry)
}

// yieldInput pauses reading until the loop's next iteration, which presents the input left
// unread again, so that other connections of the loop are served meanwhile (see outYield). It
// reports false, paused nothing, when the loop cannot run the resume (it stopped). Loop only.
func (e *engine) yieldInput() bool {
	t := e.t // the resume is this connection's, whatever engine it holds by then
	if !t.execute(t.resumeReading) {
		return false
	}
	t.pauseReading()
	return true
}

// decodeChunks decodes chunked body bytes of the current request into e.body.
func (e *engine) decodeChunks(req []byte) int {
	for {
		np, data, st := e.chunk.next(req, e.bodyPos, &e.cfg.lim)
		e.bodyPos = np
		if len(data) > 0 {
			e.body = append(e.body, data...)
		}
		if st != statusOK {
			return st
		}
	}
}

// savePartial keeps what the engine still needs of buf[r:] in carry.
func (e *engine) savePartial(buf []byte, r int, inCarry bool) {
	if e.closing || e.state == stClosed {
		e.carry = e.carry[:0]
		return
	}
	headLen, keepFrom := 0, 0 // keep buf[r:r+headLen] and buf[r+keepFrom:]
	if e.state == stAsyncBody || (e.state == stBody && e.head.chunked) {
		headLen = e.head.headLen
		keepFrom = e.bodyPos
		if e.chunk.st == chTrailer {
			keepFrom = e.chunk.trStart
		}
	}
	if inCarry {
		n := copy(buf, buf[r:r+headLen])
		n += copy(buf[n:], buf[r+keepFrom:])
		e.carry = buf[:n]
	} else {
		e.carry = append(e.carry[:0], buf[r:r+headLen]...)
		e.carry = append(e.carry, buf[r+keepFrom:]...)
	}
	if delta := keepFrom - headLen; delta > 0 {
		e.bodyPos -= delta
		e.chunk.shift(delta)
	}
	if len(e.carry) == 0 && cap(e.carry) > 64<<10 {
		e.carry = nil // do not keep a large buffer on an idle connection
	}
	// Input after a FromHTTP request waits in carry until its response is done; bound it.
	// (Body bytes waiting for the handler are bounded by the body pipe, see asyncBody.)
	if (e.state == stAsyncWait || e.state == stDrainWait) && len(e.carry) > e.cfg.holdMax && !e.holdPaused {
		e.holdPaused = true
		e.t.pauseReading()
	}
}

// owesContinue reports whether the client of the current request waits for a 100 Continue:
// asked for, not sent, and no body byte received (loop only).
func (e *engine) owesContinue() bool {
	if !e.head.expect100 || e.sentCnt {
		return false
	}
	if ar := e.async; ar != nil && (ar.respStarted || ar.sawBody) {
		// (A response that started first means no 100 will go out: sendContinue refuses.)
		return false
	}
	return true
}

func (e *engine) maybeContinue() {
	if e.head.expect100 && !e.sentCnt {
		e.sentCnt = true
		e.out = append(e.out, continueResponse...)
	}
}

// serve runs the fast-path handler for one complete request and appends its response.
func (e *engine) serve(req, body []byte, trailers []hfield) {
	c := &e.ctx
	c.reset(req, body, trailers, e.head.keepAliveAfter() && !e.draining())
	// A panic in the handler is recovered by process (one deferred call per batch of
	// requests, not one per request), which then calls handlerPanicked.
	e.inHandler = true
	e.cfg.fast(c)
	e.inHandler = false
	e.finishResponse(c)
	if c.upgrading() {
		e.upgradeTo = c.upgrade
	}
	e.served(c)
}

// served ends the request c answered.
func (e *engine) served(c *Ctx) {
	if !c.keepAlive {
		e.closing = true
	}
	c.release()
	if cap(e.body) > 256<<10 {
		e.body = nil // do not keep a large decoded body on an idle connection
	}
}

// recoverHandler is deferred by process: a panic in a fast-path handler (and only there) is
// recovered and ends its request with handlerPanicked. runtime.Goexit is not a panic: the
// loop deals with it.
func (e *engine) recoverHandler() {
	if !e.inHandler {
		return
	}
	e.inHandler = false
	if v := recover(); v != nil {
		e.handlerPanicked(v)
	}
}

// handlerPanicked answers the request whose handler panicked with v: a 500 unless the response
// had started (then it is cut short, which the close tells the client), and the connection
// closes. A body that ends at the close (HTTP/1.0 streaming) would look complete after a
// graceful close: the connection is reset instead, and what is queued never leaves.
func (e *engine) handlerPanicked(v any) {
	c := &e.ctx
	e.logPanic(v)
	if !c.streaming {
		e.out = appendErrorResponse(e.out, 500, e.lc, string(c.Method()) == http.MethodHead)
	} else if !c.chunkedOut && bodyAllowed(c.status) && !c.isHead {
		e.out = e.out[:0]
		e.closed, e.state = true, stClosed
		e.t.abort()
	}
	c.keepAlive = false
	e.served(c)
}

func (e *engine) logPanic(v any) {
	if e.cfg.logger == nil {
		return
	}
	buf := make([]byte, 8<<10)
	buf = buf[:runtime.Stack(buf, false)]
	e.cfg.logger.Error("httpx: handler panic", "remote", addrString(e.t.remoteAddr()),
		"panic", fmt.Sprint(v), "stack", string(buf))
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// reject answers the current request with an error status and closes the connection.
func (e *engine) reject(status int) {
	e.out = appendErrorResponse(e.out, status, e.lc, false)
	e.closing = true
}

// flushOut hands the pending output to the transport, and closes it when the engine is done
// (loop only).
func (e *engine) flushOut() {
	if e.closed || e.state == stHijacked {
		e.out = e.out[:0]
		return
	}
	if ar := e.async; ar != nil && ar.holding && e.state == stAsyncWait {
		ar.releaseHeld() // calls flushOut again
		return
	}
	if e.eof && !e.closing && e.state != stDrainWait { // (afterDrain serves what is left first)
		if e.async == nil {
			e.inputEnded()
		} else if e.state == stAsyncBody && !e.async.bodyPaused {
			e.cutAsync()
		}
	}
	e.writeOut()
	if e.closing && e.async == nil {
		e.closed = true
		e.state = stClosed
		e.t.close()
		return
	}
	e.t.touch()
}

// writeOut hands the pending output to the transport (loop only).
func (e *engine) writeOut() {
	if len(e.out) == 0 || e.closed {
		return
	}
	e.t.write(e.out)
	e.outN += len(e.out)
	if cap(e.out) > 256<<10 {
		e.out = nil
	} else {
		e.out = e.out[:0]
	}
}

// readEOF is called when the peer half-closed its side (loop only). Requests already received
// are still answered, in order; then the connection closes. A request cut off by the EOF is a
// client error: 400 and close, never a 2xx. A running FromHTTP handler sees its request's
// Context cancelled (as net/http does at EOF: a closed and a half-closed client look the same),
// and what it still writes is sent. A FromHTTP request whose body was cut off is detached: its
// Body.Read fails, and its response is dropped (a 400 goes out instead when no response byte
// was sent yet).
func (e *engine) readEOF() {
	if e.closed || e.eof {
		return
	}
	e.eof = true
	e.flushOut() // may cut off the request (cutAsync fails the body before cancelling)
	if ar := e.async; ar != nil && (ar.pipe == nil || !ar.pipe.cancelAtEnd()) {
		ar.cancel()
	}
}

// cutAsync detaches the FromHTTP request whose body the EOF cut off (see readEOF; loop only).
// While its body is paused the rest may still be in carry; flushOut calls this only once the
// body is running again and still incomplete.
func (e *engine) cutAsync() {
	ar := e.async
	if !ar.respStarted {
		e.out = appendErrorResponse(e.out, 400, e.lc, false)
	}
	e.closing = true
	e.async = nil
	if ar.pipe != nil {
		ar.pipe.finish(nil, io.ErrUnexpectedEOF)
	}
	ar.connGone()
}

// inputEnded runs once the engine has done all it can with the input it got before the peer's
// EOF: an idle connection closes, a partial request is answered with 400 (loop only).
func (e *engine) inputEnded() {
	if e.state == stIdle && (len(e.carry) == 0 || string(e.carry) == "\r") {
		e.closing = true
		return
	}
	e.reject(400)
}

// onClose is called once the connection is gone (loop only).
func (e *engine) onClose() {
	e.closed = true
	e.state = stClosed
	e.carry = nil
	if e.async != nil {
		e.async.connGone()
	}
}

// draining reports whether the connection must close after the current request (loop only).
func (e *engine) draining() bool { return e.cfg.draining.Load() }

// releasable reports whether the engine holds nothing of its connection, so the connection can
// give it back to its loop's free list while idle (loop only).
func (e *engine) releasable() bool {
	return e.state == stIdle && len(e.carry) == 0 && len(e.out) == 0 && e.async == nil &&
		!e.closing && !e.closed && !e.eof && e.blank == 0 && e.upgradeTo == nil
}

// shedCap is the largest buffer an engine keeps once shed.
const shedCap = 16 << 10

// shed drops the buffers of a releasable engine larger than shedCap (response, header lines,
// decoded body, carry): each may be up to 256 KiB, and an engine in its loop's free list outlives
// the connection it served (see keepLargeEngines; loop only).
func (e *engine) shed() {
	if cap(e.out) > shedCap {
		e.out = nil
	}
	if cap(e.carry) > shedCap {
		e.carry = nil
	}
	if cap(e.body) > shedCap {
		e.body = nil
	}
	c := &e.ctx
	if cap(c.resp) > shedCap {
		c.resp = nil
	}
	if cap(c.hdr) > shedCap {
		c.hdr = nil
	}
	if cap(c.ctype) > shedCap {
		c.ctype = nil
	}
}

// phase reports which timeout applies now (loop only).
func (e *engine) phase() phase {
	switch e.state {
	case stIdle:
		if len(e.carry) == 0 {
			return phaseIdle
		}
		return phaseHead
	case stHead:
		return phaseHead
	case stBody, stAsyncBody:
		if e.state == stAsyncBody && e.async != nil && e.async.bodyPaused {
			return phaseHandler
		}
		return phaseBody
	case stAsyncWait:
		return phaseHandler
	case stDrainWait:
		return phaseDrain
	}
	return phaseClosed
}
