package httpx

import (
	"io"
	"net"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// connHandler is the reactor.Handler of a Server (a distinct type so that Server does not
// export the reactor callbacks). All its methods run on the connection's loop.
type connHandler Server

// connTransport joins one engine to its reactor.Conn and applies the Server's timeouts when the
// engine's phase changes. Loop only.
//
// Memory: an idle keep-alive connection holds only its connTransport. Its engine (parser
// state, field table, response and carry buffers) goes back to the loop's free list when a
// request is done and nothing is pending (engine.releasable), and a connection takes one again
// when input arrives.
type connTransport struct {
	c         *reactor.Conn
	s         *Server
	e         *engine      // nil while idle
	ac        *adapterConn // FromHTTP state kept while the engine is released
	seq       uint32       // engine.seq kept while the engine is released
	lastSeq   uint32
	lastPhase phase
	readDL    bool        // a read deadline is set
	handlerWD bool        // the write deadline is a FromHTTP handler's (see write)
	idleOff   bool        // the idle timeout is suspended (see applyTimeouts)
	waitCnt   bool        // the body's read timeout waits for its 100 Continue (see applyTimeouts)
	wm        *writeMarks // WriteTimeout's per-write due times (see write); nil until needed
}

// writeMarks keeps WriteTimeout per queued byte: the reactor's one write deadline covers the
// newest write, so older writes still partly queued keep their own due time here, checked by a
// loop timer (checkWrites). Allocated on a connection's first write under a WriteTimeout.
type writeMarks struct {
	total int64   // bytes handed to the conn since its queue was last seen empty
	marks []wmark // oldest first
	timer *reactor.Timer
}

// wmark: the bytes up to end (counted in writeMarks.total) must be sent by due.
type wmark struct {
	end   int64
	due   time.Time
	first time.Time // due of the first write merged into this mark
}

// maxFreeEngines bounds each loop's free list of engines. The list is a stack: its top
// keepLargeEngines engines, the ones reused next, keep their large buffers; an engine that sinks
// below them is shed (engine.shed), so the engines a spike of connections left deep in the list,
// which may wait there for ever, hold at most shedCap bytes per buffer.
const (
	maxFreeEngines   = 256
	keepLargeEngines = 4
)

// attach gives ct an engine from its loop's free list, or a new one (loop only).
func (ct *connTransport) attach() *engine {
	s := ct.s
	idx := ct.c.Loop().Index()
	var e *engine
	if n := len(s.free[idx]); n > 0 {
		e = s.free[idx][n-1]
		s.free[idx][n-1] = nil
		s.free[idx] = s.free[idx][:n-1]
		e.t = ct
	} else {
		e = newEngine(s.cfg, ct, s.caches[idx])
		if s.cfg.adapter != nil {
			e.tmpl = &s.tmpls[idx]
		}
	}
	e.seq, e.ac = ct.seq, ct.ac
	ct.e = e
	return e
}

// release gives ct's engine back to the loop when it holds nothing of the connection (loop
// only).
func (ct *connTransport) release() {
	e := ct.e
	if e == nil || !e.releasable() {
		return
	}
	ct.seq, ct.ac = e.seq, e.ac
	ct.e = nil
	e.t, e.ac = nil, nil
	idx := ct.c.Loop().Index()
	if free := ct.s.free[idx]; len(free) < maxFreeEngines {
		if n := len(free); n >= keepLargeEngines {
			free[n-keepLargeEngines].shed() // it leaves the top (shedding twice costs nothing)
		}
		ct.s.free[idx] = append(free, e)
	}
}

// OnOpen implements reactor.Handler.
func (h *connHandler) OnOpen(c *reactor.Conn) {
	s := (*Server)(h)
	ct := &connTransport{c: c, s: s, lastPhase: phaseIdle}
	c.SetContext(ct)
	if s.IdleTimeout > 0 {
		c.SetIdleTimeout(s.IdleTimeout)
	}
}

// OnRefuse implements reactor.Refuser: the reactor admits MaxConns connections (counting every
// conn of the loops: upgraded ones, whatever handler they have now, and those handlers dialed)
// and gives the others here; it closes them after the refusal is sent (see Server).
func (h *connHandler) OnRefuse(c *reactor.Conn) {
	_, _ = c.Write(appendErrorResponse(nil, 503, nil, false)) // rare: its own Date, formatted now
}

// OnData implements reactor.Handler.
func (h *connHandler) OnData(c *reactor.Conn, data []byte) int {
	ct, ok := c.Context().(*connTransport)
	if !ok {
		return len(data) // no transport (cannot happen: refused conns get no input): discard
	}
	if h := ct.hijacker(); h != nil {
		return ct.hijackedData(h, data)
	}
	l := c.Loop()
	ct.s.caches[l.Index()].update(l.Now())
	e := ct.e
	if e == nil {
		e = ct.attach()
	}
	n := e.feed(data)
	if e.upgradeTo != nil {
		ct.handOver(e)
	}
	ct.release()
	return n
}

// handOver gives the connection to the handler its last response switched it to (Ctx.Upgrade;
// loop only): the Server's timeouts are cleared, the engine goes back to the loop after it, and the
// reactor shows the new handler the input after the request as soon as this OnData returns.
func (ct *connTransport) handOver(e *engine) {
	h := e.upgradeTo
	e.upgradeTo, e.upRest = nil, 0 // now releasable: OnData gives the engine back next
	c := ct.c
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Time{})
	ct.dropMarks()
	c.SetIdleTimeout(0)
	c.SetBusy(true) // for Shutdown, as a hijacked connection
	c.SetContext(nil)
	c.SetHandler(h)
	h.OnOpen(c)
}

// OnReadEOF implements reactor.ReadEOFHandler: the client half-closed. Requests already
// received are answered, then the connection closes (see engine.readEOF).
func (h *connHandler) OnReadEOF(c *reactor.Conn) {
	ct, ok := c.Context().(*connTransport)
	if !ok {
		_ = c.Close() // no transport (cannot happen, as in OnData)
		return
	}
	if h := ct.hijacker(); h != nil {
		h.end(io.EOF, nil)
		return
	}
	l := c.Loop()
	ct.s.caches[l.Index()].update(l.Now())
	e := ct.e
	if e == nil {
		e = ct.attach()
	}
	e.readEOF()
}

var _ reactor.ReadEOFHandler = (*connHandler)(nil)

// OnClose implements reactor.Handler.
func (h *connHandler) OnClose(c *reactor.Conn, err error) {
	ct, ok := c.Context().(*connTransport)
	if !ok {
		return
	}
	c.SetContext(nil)
	ct.dropMarks()
	if h := ct.hijacker(); h != nil {
		hijackedClose(h, err)
	}
	if ct.e != nil {
		ct.e.onClose()
	}
}

func (ct *connTransport) write(b []byte) {
	queued := 0
	if ct.s.WriteTimeout > 0 {
		queued = ct.c.Buffered()
	}
	_, _ = ct.c.Write(b)
	if ar := ct.e.async; ar != nil {
		if _, _, wd, ok := ar.deadlines(); ok {
			ct.c.SetWriteDeadline(wd) // the handler's (see requestDeadlines)
			ct.handlerWD = true
			ct.dropMarks()
			return
		}
	}
	if ct.handlerWD && ct.s.WriteTimeout <= 0 {
		ct.c.SetWriteDeadline(time.Time{}) // a past request's deadline ends with it
	}
	ct.handlerWD = false
	if d := ct.s.WriteTimeout; d > 0 {
		// time.Now, not the loop clock: a handler may have run long since the iteration began.
		due := time.Now().Add(d)
		ct.c.SetWriteDeadline(due)
		ct.markWrite(queued, len(b), due, d)
	}
}

// markWrite records that the n bytes just written, behind queued bytes, are due by due. Moving
// the reactor's deadline to due alone would let a client that reads just enough to let the next
// write in keep every byte queued far longer than WriteTimeout (a FromHTTP handler streams in
// pieces of a few KiB); so the older writes' due times stay here (loop only).
func (ct *connTransport) markWrite(queued, n int, due time.Time, d time.Duration) {
	m := ct.wm
	if m == nil {
		m = &writeMarks{}
		ct.wm = m
	}
	if queued == 0 {
		m.total, m.marks = 0, m.marks[:0] // all sent before this write
	}
	m.total += int64(n)
	if k := len(m.marks); k > 0 && due.Sub(m.marks[k-1].first) < d/16 {
		// merged: lenient by d/16 at most (measured from the mark's first write, else writes
		// less than d/16 apart would move it on for ever)
		m.marks[k-1].end, m.marks[k-1].due = m.total, due
	} else {
		m.marks = append(m.marks, wmark{end: m.total, due: due, first: due})
	}
	if len(m.marks) > 1 && m.timer == nil {
		ct.armWriteCheck()
	}
}

// armWriteCheck runs checkWrites when the oldest mark is due (loop only).
func (ct *connTransport) armWriteCheck() {
	m := ct.wm
	m.timer = ct.c.Loop().AfterFunc(time.Until(m.marks[0].due), ct.checkWrites)
}

// checkWrites closes the connection with ErrDeadline when bytes of an older write are still
// queued past their due time (loop only; see markWrite).
func (ct *connTransport) checkWrites() {
	m := ct.wm
	m.timer = nil
	if ct.c.Context() != ct || ct.hijacker() != nil {
		m.marks = m.marks[:0] // closed, upgraded or hijacked: the Server's timeouts are over
		return
	}
	sent := m.total - int64(ct.c.Buffered())
	i := 0
	for i < len(m.marks) && m.marks[i].end <= sent {
		i++
	}
	m.marks = m.marks[:copy(m.marks, m.marks[i:])]
	if len(m.marks) < 2 {
		return // nothing queued, or only the newest write, which the reactor's deadline covers
	}
	if !time.Now().Before(m.marks[0].due) {
		_ = ct.c.CloseWithError(reactor.ErrDeadline)
		return
	}
	ct.armWriteCheck()
}

// dropMarks forgets the per-write due times: a handler's own write deadline replaced
// WriteTimeout, or the connection ended or left the Server (loop only).
func (ct *connTransport) dropMarks() {
	if m := ct.wm; m != nil {
		m.marks = m.marks[:0]
		if m.timer != nil {
			m.timer.Stop()
			m.timer = nil
		}
	}
}

func (ct *connTransport) close() { _ = ct.c.Close() }

// abort resets the connection (reactor.Conn.Reset): queued output is dropped and the peer gets
// an RST instead of a FIN, so a response whose body ends at the close, part of it sent already
// (a large Write goes out at once), is not taken for a complete one.
func (ct *connTransport) abort() { _ = ct.c.Reset() }

func (ct *connTransport) pauseReading()      { ct.c.PauseReading() }
func (ct *connTransport) resumeReading()     { ct.c.ResumeReading() }
func (ct *connTransport) buffered() int      { return ct.c.Buffered() }
func (ct *connTransport) writeBlocked() bool { return ct.c.WriteBlocked() }
func (ct *connTransport) remoteAddr() net.Addr {
	return ct.c.RemoteAddr()
}
func (ct *connTransport) localAddr() net.Addr { return ct.c.LocalAddr() }

// execute runs f on the loop soon: queued without a wake-up when the loop is in its yield
// (see loopYield), else through Loop.Execute. Safe from any goroutine (ct.c and ct.s are
// immutable).
func (ct *connTransport) execute(f func()) bool {
	l := ct.c.Loop()
	if ct.s.yieldOn && ct.s.yields[l.Index()].enqueue(f) {
		return true
	}
	return l.Execute(f) == nil
}

func (ct *connTransport) whenDrained(n int, f func()) {
	ct.c.NotifySent(n, func(err error) {
		if err == nil {
			f()
		}
	})
}

// spawn runs t with reactor.Loop.GoTask: false on a loop that cannot (locked to its thread).
// Loop only.
func (ct *connTransport) spawn(t reactor.Task) bool { return ct.c.Loop().GoTask(t) }

// yieldSoon makes the loop give its P to the FromHTTP workers once, later in this iteration
// (see Server.yield). Loop only.
func (ct *connTransport) yieldSoon() {
	s := ct.s
	if !s.yieldOn {
		return
	}
	l := ct.c.Loop()
	y := &s.yields[l.Index()]
	if !y.armed {
		y.armed = true
		l.AfterFunc(0, y.fn)
	}
}

// touch applies the timeouts of the engine's phase when it changed (see Server), and gives the
// engine back to the loop when the connection is idle (the engine's caller returns right after
// flushOut, which calls this last).
func (ct *connTransport) touch() {
	ct.applyTimeouts()
	ct.release()
}

// applyTimeouts: in steady keep-alive traffic the phase is idle before and after every input,
// and nothing is done.
func (ct *connTransport) applyTimeouts() {
	if ct.hijacker() != nil {
		return // the hijacker's deadlines apply (see hijack)
	}
	p, seq := ct.e.phase(), ct.e.seq
	// A new request re-arms its phase's timeout even when the phase did not change (a body
	// right after another's); between requests (idle) nothing is to be done.
	if p == ct.lastPhase && (p == phaseIdle || p == phaseClosed || seq == ct.lastSeq) {
		if p == phaseBody && ct.waitCnt && !ct.e.owesContinue() {
			// 100 Continue went out since (FromHTTP: the handler's first Body.Read), or the
			// client sent body bytes without waiting for it: a stall in its body is bounded again, by ReadTimeout
			// from now, or else by IdleTimeout.
			ct.waitCnt = false
			if _, ok := ct.handlerReadDeadline(); !ok {
				if d := ct.s.ReadTimeout; d > 0 {
					ct.setReadDeadline(time.Now().Add(d))
				} else if ct.idleOff {
					ct.idleOff = false
					ct.c.SetIdleTimeout(ct.s.IdleTimeout)
				}
			}
		}
		return
	}
	ct.lastPhase, ct.lastSeq = p, seq
	ct.waitCnt = false
	s, c := ct.s, ct.c
	now := c.Loop().Now()
	setRead := func(d time.Duration) {
		if d > 0 {
			ct.setReadDeadline(now.Add(d))
		} else {
			ct.setReadDeadline(time.Time{})
		}
	}
	// IdleTimeout is for a connection with no request in progress. Inside a request it applies
	// only where no read timeout bounds the wait for the client (a head without
	// ReadHeaderTimeout, a body without a read deadline and with no 100 Continue owed), so that
	// a stalled request is not kept for ever.
	idle := true
	switch p {
	case phaseIdle:
		c.SetBusy(false)
		setRead(0)
	case phaseHead:
		c.SetBusy(true)
		setRead(s.ReadHeaderTimeout)
		idle = s.ReadHeaderTimeout <= 0
	case phaseBody:
		c.SetBusy(true)
		if rd, ok := ct.handlerReadDeadline(); ok {
			ct.setReadDeadline(rd) // the handler's (see requestDeadlines)
			idle = false
		} else if ct.e.owesContinue() {
			// A client that waits for 100 Continue (FromHTTP: until the handler reads) is not
			// stalled: neither ReadTimeout nor IdleTimeout runs until the 100 went out (see
			// above), as net/http sends a handler's response to such a client however long it
			// took to decide.
			setRead(0)
			idle = false
			ct.waitCnt = true
		} else {
			setRead(s.ReadTimeout)
			idle = s.ReadTimeout <= 0
		}
	case phaseHandler:
		c.SetBusy(true)
		setRead(0)
		idle = false
	case phaseDrain:
		// No request in progress: the client reads none of the responses queued (as on
		// the fast path, whose waiting requests stay in the reactor while it is idle).
		// Busy: the requests in carry are not idle for Shutdown.
		c.SetBusy(true)
		setRead(0)
	}
	if idle && ct.idleOff {
		ct.idleOff = false
		c.SetIdleTimeout(s.IdleTimeout)
	} else if !idle && !ct.idleOff && s.IdleTimeout > 0 {
		ct.idleOff = true
		c.SetIdleTimeout(0)
	}
}

// setReadDeadline sets the connection's read deadline to t, or clears it (zero t).
func (ct *connTransport) setReadDeadline(t time.Time) {
	switch {
	case !t.IsZero():
		ct.c.SetReadDeadline(t)
		ct.readDL = true
	case ct.readDL:
		ct.c.SetReadDeadline(time.Time{})
		ct.readDL = false
	}
}

// requestDeadlines applies the deadlines a FromHTTP handler set through
// http.ResponseController (loop only): the read deadline while its body is being read (the
// body phase; applyTimeouts applies it when the phase comes back), the write deadline to
// what is queued now and to later writes of the response (see write).
func (ct *connTransport) requestDeadlines(ar *asyncReq) {
	rd, rdSet, wd, wdSet := ar.deadlines()
	if rdSet && ct.lastPhase == phaseBody {
		ct.setReadDeadline(rd)
	}
	if wdSet {
		ct.c.SetWriteDeadline(wd)
		ct.handlerWD = true
		ct.dropMarks() // the handler's deadline now covers everything queued
	}
}

// handlerReadDeadline returns the read deadline the current FromHTTP handler set, if any.
func (ct *connTransport) handlerReadDeadline() (time.Time, bool) {
	if ar := ct.e.async; ar != nil {
		if rd, ok, _, _ := ar.deadlines(); ok {
			return rd, true
		}
	}
	return time.Time{}, false
}
