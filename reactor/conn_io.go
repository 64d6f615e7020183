//go:build linux

package reactor

import (
	"fmt"
	"net"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// Handler calls. A panic closes only that conn (and is logged).

func (l *Loop) callOpen(c *Conn) {
	defer func() {
		if r := recover(); r != nil {
			l.handlerPanic(c, r)
		}
	}()
	c.h.OnOpen(c)
}

func (l *Loop) callData(c *Conn, data []byte) (n int) {
	defer func() {
		if r := recover(); r != nil {
			n = -1
			l.handlerPanic(c, r)
		}
	}()
	return c.h.OnData(c, data)
}

func (l *Loop) callClose(c *Conn, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.logger().Error("reactor: panic in OnClose", "loop", l.idx, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	c.h.OnClose(c, err)
}

func (l *Loop) handlerPanic(c *Conn, r any) {
	l.logger().Error("reactor: handler panic, closing its connection", "loop", l.idx,
		"remote", c.raddr, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	l.finish(c, fmt.Errorf("%w: %v", ErrHandlerPanic, r))
}

// Output.

func (l *Loop) queueOut(c *Conn, b []byte) {
	if len(b) == 0 {
		return
	}
	if c.out == nil {
		c.out = l.getBuf()
	}
	c.out = append(c.out, b...)
	c.queued += uint64(len(b))
	l.markDirty(c)
	if !c.hwPaused && c.Buffered() > l.s.cfg.high {
		c.hwPaused = true
		l.readStateChanged(c)
	}
}

func (l *Loop) markDirty(c *Conn) {
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

func (l *Loop) asyncWrite(c *Conn, b []byte, done func(error)) {
	if c.state != stateOpen && c.state != stateConnecting || c.closeReq.Load() {
		if done != nil {
			l.safeCall(func() { done(ErrClosed) })
		}
		return
	}
	l.queueOut(c, b)
	if done != nil {
		c.dones = append(c.dones, doneEntry{end: c.queued, f: done})
		if len(b) == 0 {
			l.fireDones(c, nil)
		}
	}
}

// fireDones runs the AsyncWrite callbacks whose bytes were all sent, or all
// of them with err when err is not nil.
func (l *Loop) fireDones(c *Conn, err error) {
	i := 0
	for ; i < len(c.dones); i++ {
		d := c.dones[i]
		if err == nil && d.end > c.sentTotal {
			break
		}
		l.safeCall(func() { d.f(err) })
	}
	if i > 0 {
		n := copy(c.dones, c.dones[i:])
		clear(c.dones[n:])
		c.dones = c.dones[:n]
	}
}

// flush gives each dirty conn one send with everything queued, and finishes
// graceful closes whose output is out.
func (l *Loop) flush() {
	for i := 0; i < len(l.dirty); i++ { // sent may append while we iterate
		c := l.dirty[i]
		l.dirty[i] = nil
		c.dirty = false
		l.flushConn(c)
	}
	l.dirty = l.dirty[:0]
}

func (l *Loop) flushConn(c *Conn) {
	if c.closeReq.Load() && c.state == stateOpen {
		l.closeGraceful(c)
	}
	if c.state != stateOpen && c.state != stateClosing || c.sendBusy {
		return
	}
	if len(c.out) == 0 {
		if c.state == stateClosing {
			l.finish(c, nil)
		}
		return
	}
	// Swap: out becomes the in-flight buffer; the previous in-flight buffer
	// (kept in sendBuf, emptied) collects new writes.
	spare := c.sendBuf
	c.sendBuf = c.out
	c.sending = c.out
	if spare != nil {
		c.out = spare[:0]
	} else {
		c.out = nil
	}
	c.sendBusy = true
	l.b.send(c)
}

// sent handles a send completion: n bytes from the start of c.sending.
func (l *Loop) sent(c *Conn, n int, err error) {
	c.sendBusy = false
	if c.state >= stateClosed {
		return
	}
	if err != nil {
		l.finish(c, err)
		return
	}
	if n > len(c.sending) {
		n = len(c.sending)
	}
	c.sending = c.sending[n:]
	c.sentTotal += uint64(n)
	c.lastActive = l.mono
	if len(c.dones) > 0 {
		l.fireDones(c, nil)
		if c.state >= stateClosed { // a done callback closed it
			return
		}
	}
	if len(c.sending) > 0 { // short send: continue with the rest
		c.sendBusy = true
		l.b.send(c)
		return
	}
	c.sending = nil
	if len(c.out) == 0 {
		// Nothing queued: return both buffers to the pool so idle conns
		// hold no output memory.
		l.putBuf(c.sendBuf)
		c.sendBuf = nil
		if c.out != nil {
			l.putBuf(c.out)
			c.out = nil
		}
	}
	if c.hwPaused && c.Buffered() <= l.s.cfg.low {
		c.hwPaused = false
		l.readStateChanged(c)
	}
	if len(c.out) > 0 || c.state == stateClosing {
		l.markDirty(c)
	}
}

// Input.

// input delivers bytes read (valid only during the call).
func (l *Loop) input(c *Conn, data []byte) {
	if c.state != stateOpen || c.closeReq.Load() {
		return // closing: input is discarded
	}
	c.lastActive = l.mono
	if c.userPaused || c.hwPaused {
		l.keep(c, data)
		return
	}
	if len(c.in) > 0 {
		l.keep(c, data)
		if c.state == stateOpen {
			l.deliverKept(c)
		}
		return
	}
	n := l.callData(c, data)
	if c.state != stateOpen || n >= len(data) {
		return
	}
	if n < 0 {
		n = 0
	}
	if len(data)-n > l.s.cfg.maxPending {
		l.finish(c, ErrInputOverflow)
		return
	}
	l.keep(c, data[n:])
}

// keep appends data to c's kept input. Input kept while reading is paused
// is bounded by what the kernel completes before the pause takes effect;
// what the handler leaves unconsumed is bounded by maxPending (checked by
// the callers after the handler ran).
func (l *Loop) keep(c *Conn, data []byte) {
	if len(data) == 0 {
		return
	}
	if c.in == nil {
		c.in = l.getBuf()
	}
	c.in = append(c.in, data...)
}

// deliverKept presents c.in (kept input, possibly with new bytes appended).
func (l *Loop) deliverKept(c *Conn) {
	n := l.callData(c, c.in)
	if c.in == nil { // finish released it
		return
	}
	if n < 0 {
		n = 0
	}
	if n >= len(c.in) {
		l.putBuf(c.in)
		c.in = nil
		return
	}
	rest := copy(c.in, c.in[n:])
	c.in = c.in[:rest]
	if rest > l.s.cfg.maxPending && c.wantRead() {
		l.finish(c, ErrInputOverflow)
	}
}

// eof: reading ended; err nil is the peer's FIN.
func (l *Loop) eof(c *Conn, err error) {
	if c.state >= stateClosed {
		return
	}
	c.eofSeen = true
	if err != nil {
		l.finish(c, err)
		return
	}
	l.closeGraceful(c)
}

// readStateChanged tells the backend that c.wantRead() may have changed, and
// schedules kept input for delivery when reading resumes.
func (l *Loop) readStateChanged(c *Conn) {
	if c.state != stateOpen {
		return
	}
	if c.wantRead() {
		if len(c.in) > 0 {
			l.redeliver = append(l.redeliver, c)
		}
		l.b.resume(c)
	} else {
		l.b.pause(c)
	}
}

func (l *Loop) runRedeliver() {
	for i := 0; i < len(l.redeliver); i++ {
		c := l.redeliver[i]
		l.redeliver[i] = nil
		if c.wantRead() && len(c.in) > 0 {
			l.deliverKept(c)
		}
	}
	l.redeliver = l.redeliver[:0]
}

// Close.

// closeGraceful stops reading and closes c once its queued output is sent.
func (l *Loop) closeGraceful(c *Conn) {
	switch c.state {
	case stateConnecting:
		l.finish(c, ErrClosed)
		return
	case stateOpen:
	default:
		return
	}
	c.closeReq.Store(true)
	c.state = stateClosing
	l.b.pause(c)
	l.markDirty(c)
}

// finish ends c for the core: OnClose runs, queued output is dropped, and
// the backend is told to end its ops (then release closes the fd).
func (l *Loop) finish(c *Conn, err error) {
	if c.state >= stateClosed {
		return
	}
	c.state = stateClosed
	c.closeReq.Store(true)
	if c.timer != nil {
		c.timer.Stop()
	}
	if len(c.dones) > 0 {
		derr := err
		if derr == nil {
			derr = ErrClosed
		}
		l.fireDones(c, derr)
	}
	if c.out != nil {
		l.putBuf(c.out)
		c.out = nil
	}
	if c.in != nil {
		l.putBuf(c.in)
		c.in = nil
	}
	l.s.nconns.Add(-1)
	l.callClose(c, err)
	l.b.shutdown(c)
}

// release is called by the backend when no op is in flight on a finished
// conn: the fd is closed and the slot freed.
func (l *Loop) release(c *Conn) {
	if c.state == stateReleased {
		return
	}
	c.state = stateReleased
	unix.Close(c.fd)
	if !c.sendBusy && c.sendBuf != nil {
		l.putBuf(c.sendBuf)
	}
	c.sendBuf, c.sending = nil, nil
	c.rbuf = nil
	c.dial = nil
	l.freeSlot(c)
}

// Accept and connect.

// accepted takes a new socket from a listener.
func (l *Loop) accepted(ln *listener, fd int, peer net.Addr) {
	s := l.s
	if l.draining || l.stopReq.Load() || (s.cfg.maxConns > 0 && s.nconns.Load() >= int64(s.cfg.maxConns)) {
		unix.Close(fd)
		return
	}
	if ln.tcp {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	c := &Conn{l: l, h: s.h, fd: fd, state: stateOpen}
	c.raddr = peer
	if c.raddr == nil {
		c.raddr = peerAddr(fd, ln)
	}
	c.laddr = ln.localFor(fd)
	l.openConn(c)
}

// openConn registers c with the backend and runs OnOpen.
func (l *Loop) openConn(c *Conn) {
	l.allocSlot(c)
	l.s.nconns.Add(1)
	c.lastActive = l.mono
	if err := l.b.open(c); err != nil {
		c.state = stateClosed
		l.s.nconns.Add(-1)
		l.b.shutdown(c)
		return
	}
	if d := l.s.cfg.idle; d > 0 {
		c.SetIdleTimeout(d)
	}
	if c.state == stateOpen {
		l.callOpen(c)
		if c.wantRead() {
			l.b.resume(c)
		}
	}
}

// connected completes a Dial.
func (l *Loop) connected(c *Conn, err error) {
	if c.state != stateConnecting {
		return
	}
	if err != nil {
		l.finish(c, err)
		return
	}
	c.state = stateOpen
	c.laddr = localAddr(c.fd)
	c.lastActive = l.mono
	l.callOpen(c)
	if c.wantRead() {
		l.b.resume(c)
	}
	if len(c.out) > 0 || c.closeReq.Load() {
		l.markDirty(c)
	}
}
