package httpx

import (
	"net"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// connHandler is the reactor.Handler of a Server (a distinct type so that Server does not
// export the reactor callbacks). All its methods run on the connection's loop.
type connHandler Server

// connTransport joins one engine to its reactor.Conn and applies the Server's timeouts when the
// engine's phase changes. Loop only.
type connTransport struct {
	c         *reactor.Conn
	s         *Server
	e         *engine
	lastPhase phase
	lastSeq   uint32
	readDL    bool // a read deadline is set
	idleOff   bool // the idle timeout is suspended while a FromHTTP handler runs
}

// OnOpen implements reactor.Handler.
func (h *connHandler) OnOpen(c *reactor.Conn) {
	s := (*Server)(h)
	n := s.conns.Add(1)
	if s.MaxConns > 0 && n > int64(s.MaxConns) {
		// Over the limit: a clean refusal, then close (see Server).
		_, _ = c.Write(s.refusal)
		_ = c.Close()
		return
	}
	idx := c.Loop().Index()
	ct := &connTransport{c: c, s: s, lastPhase: phaseIdle}
	ct.e = newEngine(s.cfg, ct, s.dates[idx])
	if s.cfg.draining.Load() {
		ct.e.shutdown = true
	}
	s.engines[idx][ct.e] = struct{}{}
	c.SetContext(ct)
	if s.IdleTimeout > 0 {
		c.SetIdleTimeout(s.IdleTimeout)
	}
}

// OnData implements reactor.Handler.
func (h *connHandler) OnData(c *reactor.Conn, data []byte) int {
	ct, ok := c.Context().(*connTransport)
	if !ok {
		return len(data) // a refused connection: discard
	}
	l := c.Loop()
	ct.s.dates[l.Index()].update(l.Now())
	return ct.e.feed(data)
}

// OnClose implements reactor.Handler.
func (h *connHandler) OnClose(c *reactor.Conn, err error) {
	s := (*Server)(h)
	s.conns.Add(-1)
	ct, ok := c.Context().(*connTransport)
	if !ok {
		return
	}
	delete(s.engines[c.Loop().Index()], ct.e)
	c.SetContext(nil)
	ct.e.onClose()
}

func (ct *connTransport) write(b []byte) {
	_, _ = ct.c.Write(b)
	if d := ct.s.WriteTimeout; d > 0 {
		// time.Now, not the loop clock: a handler may have run long since the iteration began.
		ct.c.SetWriteDeadline(time.Now().Add(d))
	}
}

func (ct *connTransport) close()         { _ = ct.c.Close() }
func (ct *connTransport) pauseReading()  { ct.c.PauseReading() }
func (ct *connTransport) resumeReading() { ct.c.ResumeReading() }
func (ct *connTransport) buffered() int  { return ct.c.Buffered() }
func (ct *connTransport) remoteAddr() net.Addr {
	return ct.c.RemoteAddr()
}
func (ct *connTransport) localAddr() net.Addr { return ct.c.LocalAddr() }

func (ct *connTransport) execute(f func()) bool { return ct.c.Loop().Execute(f) == nil }

func (ct *connTransport) after(d time.Duration, f func()) { ct.c.Loop().AfterFunc(d, f) }

// touch applies the timeouts of the engine's phase when it changed (see Server). In steady
// keep-alive traffic the phase is idle before and after every input, and nothing is done.
func (ct *connTransport) touch() {
	p, seq := ct.e.phase(), ct.e.seq
	if p == ct.lastPhase && (p != phaseHead || seq == ct.lastSeq) {
		return
	}
	ct.lastPhase, ct.lastSeq = p, seq
	s, c := ct.s, ct.c
	now := c.Loop().Now()
	setRead := func(d time.Duration) {
		switch {
		case d > 0:
			c.SetReadDeadline(now.Add(d))
			ct.readDL = true
		case ct.readDL:
			c.SetReadDeadline(time.Time{})
			ct.readDL = false
		}
	}
	if p != phaseHandler && ct.idleOff {
		ct.idleOff = false
		c.SetIdleTimeout(s.IdleTimeout)
	}
	switch p {
	case phaseIdle:
		c.SetBusy(false)
		setRead(0)
	case phaseHead:
		c.SetBusy(true)
		setRead(s.ReadHeaderTimeout)
	case phaseBody:
		c.SetBusy(true)
		setRead(s.ReadTimeout)
	case phaseHandler:
		c.SetBusy(true)
		setRead(0)
		if s.IdleTimeout > 0 && !ct.idleOff {
			ct.idleOff = true
			c.SetIdleTimeout(0)
		}
	}
}
