//go:build linux

package reactor

import (
	"fmt"
	"runtime/debug"

	"github.com/ringo-io/ringo/netpoll"

	"golang.org/x/sys/unix"
)

// Handler calls. A panic closes only that conn (and is logged).

func (l *Loop) callOpen(c *Conn) {
	defer func() {
		if r := recover(); r != nil {
			l.handlerPanic(c, r)
		}
	}()
	c.handler().OnOpen(c)
}

func (l *Loop) callRefuse(r Refuser, c *Conn) {
	defer func() {
		if r := recover(); r != nil {
			l.handlerPanic(c, r)
		}
	}()
	r.OnRefuse(c)
}

func (l *Loop) callData(c *Conn, data []byte) (n int) {
	defer func() {
		l.inData = nil
		if r := recover(); r != nil {
			n = -1
			l.handlerPanic(c, r)
		}
	}()
	l.inData = c
	return c.handler().OnData(c, data)
}

func (l *Loop) callReadEOF(h ReadEOFHandler, c *Conn) {
	defer func() {
		if r := recover(); r != nil {
			l.handlerPanic(c, r)
		}
	}()
	h.OnReadEOF(c)
}

func (l *Loop) callClose(c *Conn, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.logger().Error("reactor: panic in OnClose", "loop", l.idx, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	c.handler().OnClose(c, err)
}

func (l *Loop) handlerPanic(c *Conn, r any) {
	l.logger().Error("reactor: handler panic, closing its connection", "loop", l.idx,
		"remote", c.RemoteAddr(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	l.finish(c, fmt.Errorf("%w: %v", ErrHandlerPanic, r))
}

// Output.

func (l *Loop) queueOut(c *Conn, b []byte) {
	if len(b) == 0 {
		return
	}
	q := l.bufsOf(c)
	if q.out == nil {
		q.out = l.getBufCap(len(b))
	}
	q.out = append(l.growBuf(q.out, len(b)), b...)
	l.markDirty(c)
	n := c.Buffered()
	if x := c.ext; x != nil && x.writeDL > 0 && n == len(b) {
		// Output queued where none was: the write deadline applies again
		// (connDue leaves it out while nothing is queued).
		l.scheduleConnTimer(c)
	}
	// AsyncWrite's bound: what was queued since the last publication counts
	// at once from asyncQuiet on, not at the end of the iteration (flushConn).
	if int64(n)-c.asyncOut.Load() >= asyncQuiet(l.s.cfg.asyncLimit) {
		c.asyncOut.Store(int64(n))
	}
	if !c.hwPaused && n > l.s.cfg.high {
		c.hwPaused = true
		l.readStateChanged(c)
	}
}

// directWriteMin is the size from which Write sends at once, with send(2),
// what nothing queued or in flight on the conn must precede (writeDirect).
// It was 32 KiB until session 8; 16 KiB measured, paired against 32 KiB,
// 16 KiB echo at 1,000 conns: io_uring 0.92-0.95x, epoll 0.95x; at 64
// conns a tie.
const directWriteMin = 16 << 10

// writeDirect sends b now when c has no output queued or in flight, and
// returns what is left to queue: all of b when it cannot (or the socket is
// full, or failed: the queued send then reports the error in order).
//
// Why: a large Write is usually the input just read (an echo, a proxy), hot
// in cache; sending it before the next conn's input is read saves copying
// it into the output queue and reading it back cold when the iteration's
// sends go out (the copy was 11% of the server's CPU for 64 KiB echo;
// epoll: 0.94x per round trip, paired). Smaller writes still wait for the
// iteration's one send per conn, which carries all of them (HTTP
// pipelining), so one syscall per write is paid only where it is cheap
// next to the bytes it moves. On io_uring the recv in flight is unaffected
// and no send op is in flight to be overtaken; there a message that arrives
// in scattered provided buffers reaches OnData whole (gatherMax), so it can
// reach the mark (a mark of 8 KiB, which sent each 16 KiB piece of a
// 64 KiB message on its own, measured 1.16x worse).
func (l *Loop) writeDirect(c *Conn, b []byte) []byte {
	if c.state != stateOpen || c.sendBusy || c.Buffered() > 0 {
		return b
	}
	n, err := netpoll.Send(int(c.fd), b)
	if err != nil || n <= 0 {
		return b
	}
	c.lastActive = l.mono
	return b[n:]
}

func (l *Loop) markDirty(c *Conn) {
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

func (l *Loop) asyncWrite(c *Conn, b []byte, done func(error)) {
	// reqClose is not checked: a Close from another goroutine sets it at
	// once but is queued behind that goroutine's earlier AsyncWrites, which
	// are still sent (per-caller order); closeGraceful then ends the state.
	if c.state != stateOpen && c.state != stateConnecting || c.writeShutApplied() {
		c.asyncQueued.Add(-asyncWeight(b))
		if done != nil {
			err := ErrClosed
			if c.state == stateOpen || c.state == stateConnecting {
				err = ErrWriteClosed
			}
			if r := c.rare(); r != nil && c.state < stateClosed && r.donesPending() {
				// Behind the callbacks of earlier writes still being flushed (a
				// closing conn, or one whose write side shuts down after them): in order.
				r.dones = append(r.dones, doneEntry{end: r.sent + uint64(c.Buffered()), f: func(error) { done(err) }})
				return
			}
			l.safeCall(func() { done(err) })
		}
		return
	}
	l.queueOut(c, b)
	// b counts in asyncOut before it leaves asyncQueued: between the two, an
	// AsyncWrite from another goroutine would see neither (a whole write over the bound).
	c.asyncOut.Store(int64(c.Buffered()))
	c.asyncQueued.Add(-asyncWeight(b))
	if done != nil {
		x := c.r()
		// Due once everything queued now is sent: counted from x.sent.
		x.dones = append(x.dones, doneEntry{end: x.sent + uint64(c.Buffered()), f: done})
		if c.Buffered() == 0 {
			l.fireDones(c, nil)
		}
	}
}

// fireDones runs the AsyncWrite callbacks whose bytes were all sent, or all
// of them with err when err is not nil.
//
// Each entry is taken off the queue (doneHead) before its callback runs: a
// callback may close c (ResumeReading on io_uring reads a reset at once), whose
// finish runs this again, nested, for what is left; and after a runtime.Goexit
// in one the teardown's finish runs what is left. Neither runs one twice.
func (l *Loop) fireDones(c *Conn, err error) {
	x := c.ext.rare
	for x.doneHead < len(x.dones) {
		d := x.dones[x.doneHead]
		if err == nil && d.end > x.sent {
			break
		}
		x.dones[x.doneHead] = doneEntry{}
		x.doneHead++
		l.safeCall(func() { d.f(err) })
	}
	if h := x.doneHead; h > 0 {
		n := copy(x.dones, x.dones[h:])
		clear(x.dones[n:])
		x.dones = x.dones[:n]
		x.doneHead = 0
	}
	if len(x.dones) == 0 {
		x.sent = 0 // the next callback counts from here
		if cap(x.dones) > 64 {
			x.dones = nil
		}
	}
}

// flush gives each dirty conn one send with everything queued, and finishes
// graceful closes whose output is out.
func (l *Loop) flush() {
	// Only the conns dirty when it began. A send that completes at once
	// (epoll) runs done and NotifySent callbacks, which may write again: that
	// conn waits for the next iteration (which then does not sleep), or a
	// producer continuing from its callbacks would keep the loop here for as
	// long as its peer keeps up, and no task, timer or other conn would run.
	n := len(l.dirty)
	for i := 0; i < n; i++ {
		c := l.dirty[i]
		l.dirty[i] = nil
		c.dirty = false
		l.flushConn(c)
	}
	rest := copy(l.dirty, l.dirty[n:])
	clear(l.dirty[rest:])
	l.dirty = l.dirty[:rest]
}

func (l *Loop) flushConn(c *Conn) {
	// A Close from another goroutine sets reqClose at once, but the close
	// itself is its queued task (closeGraceful), behind that goroutine's
	// earlier AsyncWrites, so the state, not reqClose, decides here.
	if c.state != stateOpen && c.state != stateClosing {
		return
	}
	c.publishOut() // what the handler's own Write queued counts for AsyncWrite's bound too
	if c.sendBusy {
		return
	}
	if c.closeRequested() && c.abortPending() {
		return // its abort task drops the output
	}
	if c.state == stateClosing {
		if r := c.rare(); r != nil && r.readErr != nil {
			l.finish(c, r.readErr) // the peer reset c while its kept input waited (eof)
			return
		}
	}
	q := c.bufs
	if q == nil || len(q.out) == 0 {
		if c.state == stateClosing {
			l.finish(c, nil)
		} else if c.state == stateOpen && c.shutPending() {
			l.shutWriteNow(c, c.ext.rare)
		}
		return
	}
	if x := c.ext; x != nil && x.writeDL > 0 && l.mono >= x.writeDL {
		// Output queued after the write deadline passed by a callback that ran
		// after this iteration's timers (a timer's, kept input's, a Go func's):
		// it fails, as the conn's timer fails output queued earlier.
		l.finish(c, ErrDeadline)
		return
	}
	// Swap: out becomes the in-flight buffer; the previous in-flight buffer
	// (kept in sendBuf, emptied) collects new writes.
	spare := q.sendBuf
	q.sendBuf = q.out
	q.sendOff = 0
	if spare != nil {
		q.out = spare[:0]
	} else {
		q.out = nil
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
	if c.abortPending() {
		return // CloseWithError on the loop: its abort task drops the rest
	}
	q := c.bufs // a send was in flight: its buffer is in q
	if rest := len(q.sendBuf) - int(q.sendOff); n > rest {
		n = rest
	}
	q.sendOff += n
	c.lastActive = l.mono
	if r := c.rare(); r != nil && r.donesPending() {
		// Before the done callbacks: a goroutine that AsyncWrite refused (ErrQueueFull) retries
		// when one reports progress, and must then see the smaller queue (else it could be
		// refused again with no callback left to wake it).
		c.asyncOut.Store(int64(c.Buffered()))
		r.sent += uint64(n)
		l.fireDones(c, nil)
		if c.state >= stateClosed || c.abortPending() {
			return // a done callback closed it, or called CloseWithError: its abort task drops the rest
		}
	}
	c.publishOut()                       // again if callbacks wrote
	if int(q.sendOff) < len(q.sendBuf) { // short send: continue with the rest
		l.sampleOutq(c)
		c.sendBusy = true
		l.b.send(c)
		// A large queue goes out as one send continued many times: reading
		// resumes once what is left of it is below the low mark, not only
		// when all of it was sent.
		if c.hwPaused && c.state == stateOpen && c.Buffered() <= l.s.cfg.low {
			c.hwPaused = false
			l.readStateChanged(c)
		}
		return
	}
	// All sent: until the next flush swaps the buffers, Buffered must not
	// count these bytes again (io_uring runs tasks, timers and other CQEs,
	// OnData included, in between).
	q.sendOff, q.sendBuf = 0, q.sendBuf[:0]
	more := len(q.out) > 0
	if more {
		l.sampleOutq(c)
	} else {
		if x := c.ext; x != nil {
			x.outq = 0 // no sample: the reactor holds no output (connTimerFired)
		}
		// Nothing queued: return both buffers to the pool so idle conns
		// hold no output memory.
		l.putBuf(q.sendBuf)
		q.sendBuf = nil
		if q.out != nil {
			l.putBuf(q.out)
			q.out = nil
		}
		l.trimBufs(c)
	}
	if c.hwPaused && c.Buffered() <= l.s.cfg.low {
		c.hwPaused = false
		l.readStateChanged(c)
	}
	if more || c.state == stateClosing || c.shutPending() {
		l.markDirty(c)
	}
}

// sampleOutq records the kernel's send queue after a send that left output
// in the reactor, on a conn with an idle timeout: the next send may wait
// for room in it, and the peer reading it is activity (connTimerFired).
// Only large outputs get here (one ioctl per send of theirs). Loop only.
func (l *Loop) sampleOutq(c *Conn) {
	if x := c.ext; x != nil && x.idle > 0 {
		if n, err := netpoll.Unacked(int(c.fd)); err == nil {
			x.outq = n
		}
	}
}

// closeWrite marks c's write side to be shut down once its queued output is
// sent (see Conn.CloseWrite; loop only).
func (l *Loop) closeWrite(c *Conn) error {
	if c.state != stateOpen && c.state != stateConnecting || c.closeRequested() {
		return ErrClosed
	}
	r := c.r()
	if r.wshut >= wshutWant {
		return nil
	}
	r.wshut = wshutWant
	l.markDirty(c) // flushConn shuts it down once nothing is queued or in flight
	return nil
}

// queueCloseWrite is CloseWrite on the loop while AsyncWrites wait in the
// task queue: Write and Writev fail at once, the shutdown follows those
// AsyncWrites (its task runs closeWrite).
func (l *Loop) queueCloseWrite(c *Conn) error {
	if c.state != stateOpen && c.state != stateConnecting || c.closeRequested() {
		return ErrClosed
	}
	r := c.r()
	if r.wshut != wshutNone {
		return nil
	}
	if l.enqueue(task{kind: taskCloseWrite, c: c}) != nil {
		return ErrClosed
	}
	r.wshut = wshutQueued
	return nil
}

// shutWriteNow shuts down c's write side: its output is all sent (loop
// only). A failure (the peer reset meanwhile) is left to the read side to
// report.
func (l *Loop) shutWriteNow(c *Conn, r *connRare) {
	r.wshut = wshutDone
	_ = unix.Shutdown(int(c.fd), unix.SHUT_WR)
}

// Input.

// input delivers bytes read (valid only during the call).
func (l *Loop) input(c *Conn, data []byte) {
	if c.state != stateOpen || c.closeRequested() {
		return // closing: input is discarded
	}
	c.lastActive = l.mono
	if c.userPaused || c.hwPaused {
		l.keep(c, data)
		c.unshown = true
		return
	}
	if c.keptIn() > 0 {
		// Kept bytes the handler has seen are shown in the first window
		// again, not rescanned through growing windows.
		first := l.keptWindow(c)
		l.keep(c, data)
		if c.state == stateOpen {
			l.deliverKept(c, first)
		}
		return
	}
	n, stopped := l.present(c, data, inputWindow)
	if c.state != stateOpen || c.closeRequested() || n >= len(data) {
		return
	}
	if !stopped && !c.userPaused && !c.hwPaused && len(data)-n > l.s.cfg.maxPending {
		l.finish(c, ErrInputOverflow)
		return
	}
	l.keep(c, data[n:])
	// What the handler left while reading is paused (it stopped taking
	// input until its output drains) is presented again before an EOF, as
	// bytes it has not seen.
	c.unshown = stopped || c.userPaused || c.hwPaused
}

// inputWindow bounds the bytes shown to OnData in one call when more input
// is at hand: on io_uring one bundle of consecutive buffers can hold most of
// the buffer ring (measured: 3.9 MB for one slow-reading echo conn on the
// default 4 MiB ring, whose output queue then passed its 64 KiB high-water
// mark by as much). Between calls present checks whether reading was paused
// (the output queue passed its high-water mark, or the handler paused) and
// keeps the rest, so the queue passes the mark by at most about one window,
// as with epoll's 64 KiB read buffer.
const inputWindow = 64 << 10

// present shows data to OnData in windows, the first of first bytes, the
// next of inputWindow bytes after the handler consumed some; a window the
// handler consumes nothing of (it waits for a larger message) is followed by
// one twice as large, so a message of n bytes costs O(log n) calls. It
// returns the bytes consumed once the last window was shown (the handler may
// have left part of it), or early, with stopped set, when reading was paused
// or c is closing (the rest was never shown).
func (l *Loop) present(c *Conn, data []byte, first int) (consumed int, stopped bool) {
	win := first
	for {
		end := len(data)
		if end-consumed > win {
			end = consumed + win
		}
		n := l.callData(c, data[consumed:end])
		if n < 0 {
			n = 0
		}
		consumed += min(n, end-consumed)
		if l.switched {
			// SetHandler: what the old handler left is the new one's to see now.
			l.switched = false
			if consumed < len(data) {
				if c.state != stateOpen || c.closeRequested() || c.userPaused || c.hwPaused {
					return consumed, true
				}
				win = inputWindow
				continue
			}
		}
		if end == len(data) || consumed == len(data) {
			return consumed, false
		}
		if c.state != stateOpen || c.closeRequested() || c.userPaused || c.hwPaused {
			return consumed, true
		}
		if n == 0 {
			win *= 2
		} else {
			win = inputWindow
		}
	}
}

// keep appends data to c's kept input. Input kept while reading is paused
// is bounded by what the kernel completes before the pause takes effect;
// what the handler leaves unconsumed is bounded by maxPending (checked by
// the callers after the handler ran).
func (l *Loop) keep(c *Conn, data []byte) {
	if len(data) == 0 {
		return
	}
	q := l.bufsOf(c)
	if q.in == nil {
		q.in = l.getBufCap(len(data))
	}
	q.in = append(l.growBuf(q.in, len(data)), data...)
}

// keptWindow is the first window for presenting c's kept input again: all
// of it when the handler has seen it all, else one inputWindow.
func (l *Loop) keptWindow(c *Conn) int {
	if c.unshown {
		return inputWindow
	}
	return c.keptIn() + inputWindow
}

// deliverKept presents c.bufs.in (kept input, possibly with new bytes
// appended; not empty), the first window of first bytes.
func (l *Loop) deliverKept(c *Conn, first int) {
	n, stopped := l.present(c, c.bufs.in, first)
	q := c.bufs                  // the handler's writes keep q; finish may have dropped it
	if q == nil || q.in == nil { // finish released it
		return
	}
	c.unshown = stopped || c.userPaused || c.hwPaused // as in input
	if n >= len(q.in) {
		l.putBuf(q.in)
		q.in = nil
		l.trimBufs(c)
		return
	}
	rest := copy(q.in, q.in[n:])
	q.in = q.in[:rest]
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
		if c.keptIn() > 0 && (c.userPaused || c.hwPaused || c.unshown) && c.state == stateOpen && !c.closeRequested() {
			// Input kept while reading is paused came before the error (an io_uring
			// recv may read the reset before the pause's cancel; epoll, which does not
			// read while paused, reads it after that input): delivered first, as for
			// an EOF (redeliverBeforeEOF), then the error closes c.
			c.r().readErr = err
			c.eofPending = true
			l.b.pause(c)
			if !c.userPaused && !c.hwPaused {
				l.redeliver = append(l.redeliver, c)
			}
			return
		}
		l.finish(c, err)
		return
	}
	if (c.userPaused || c.hwPaused || c.unshown && c.keptIn() > 0) && c.state == stateOpen && !c.closeRequested() {
		// Kept bytes (read while reading was paused, or never shown) must
		// reach the handler before the EOF does, and a paused conn sees its
		// EOF only when reading resumes, as on epoll, which does not read
		// while paused (an io_uring recv may complete the FIN before its
		// cancel): runRedeliver delivers them
		// (when reading resumes, or in this iteration if it resumed
		// already), then finishes the EOF.
		c.eofPending = true
		l.b.pause(c)
		if !c.userPaused && !c.hwPaused {
			l.redeliver = append(l.redeliver, c)
		}
		return
	}
	l.finishEOF(c)
}

// finishEOF ends reading after a clean EOF once the handler has seen every
// byte: OnReadEOF for a ReadEOFHandler, else a graceful close.
func (l *Loop) finishEOF(c *Conn) {
	if c.state == stateOpen && !c.closeRequested() {
		if h, ok := c.handler().(ReadEOFHandler); ok {
			// Half-close: reading is over (eofSeen makes wantRead false, so
			// no backend re-arms a read); writing goes on until Close.
			l.b.pause(c)
			l.callReadEOF(h, c)
			return
		}
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
		if c.keptIn() > 0 {
			l.redeliver = append(l.redeliver, c)
		}
		l.b.resume(c)
	} else {
		l.b.pause(c)
		if c.eofPending && !c.userPaused && !c.hwPaused {
			l.redeliver = append(l.redeliver, c)
		}
	}
}

func (l *Loop) runRedeliver() {
	// Only the conns queued before this call: one that a handler here queues
	// again (it paused and resumed with input left) waits for the next
	// iteration, as ResumeReading documents, else the loop never polls again.
	n := len(l.redeliver)
	for i := 0; i < n; i++ {
		c := l.redeliver[i]
		l.redeliver[i] = nil
		if c.eofPending {
			l.redeliverBeforeEOF(c)
			continue
		}
		if c.wantRead() && c.keptIn() > 0 {
			l.deliverKept(c, l.keptWindow(c))
		}
	}
	rest := copy(l.redeliver, l.redeliver[n:])
	clear(l.redeliver[rest:])
	l.redeliver = l.redeliver[:rest]
}

// Close.

// closeGraceful stops reading and closes c once its queued output is sent.
func (l *Loop) closeGraceful(c *Conn) {
	switch c.state {
	case stateConnecting:
		if c.Buffered() == 0 && !c.shutPending() {
			l.finish(c, ErrClosed) // nothing to deliver: the dial is cancelled
			return
		}
		// Output queued before the connect completed: sent once it has
		// (connected closes c then), as Close promises.
		c.reqs.Or(reqClose)
		return
	case stateOpen:
		// With a reset stored (eof, readErr), flushConn finishes c with it at the
		// end of the iteration: a CloseWithError queued behind this Close still
		// gives OnClose its error, as on epoll, which has not read the reset.
	default:
		return
	}
	// reqClose is not set here: it is Close's and CloseWithError's "first
	// wins" flag, and a close the reactor begins itself (the peer's EOF,
	// Shutdown) must not make a later CloseWithError a no-op. The state
	// stops input and writes.
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
	if err == nil {
		c.state = stateClosedGraceful // release decides whether to linger
	}
	c.reqs.Or(reqClose)
	// Before the done callbacks, as in sent: nothing is pending any more, and AsyncWrite
	// reports ErrClosed instead of ErrQueueFull.
	c.asyncOut.Store(0)
	if x := c.ext; x != nil {
		x.timer.Stop()
		if x.rare != nil && x.rare.donesPending() {
			derr := err
			if derr == nil {
				derr = ErrClosed
			}
			// Deferred: a runtime.Goexit in a callback must not skip OnClose and
			// the backend's shutdown (the state says closed: the teardown skips c),
			// nor the callbacks after it: the loop's teardown runs those.
			defer func() {
				if x.rare.donesPending() {
					l.leftDones = append(l.leftDones, leftDone{c, derr})
				}
				l.finishRest(c, err)
			}()
			l.fireDones(c, derr)
			return
		}
	}
	l.finishRest(c, err)
}

// finishRest is finish after the done callbacks: buffers, count, OnClose,
// the backend's shutdown.
func (l *Loop) finishRest(c *Conn, err error) {
	if q := c.bufs; q != nil {
		if q.out != nil {
			l.putBuf(q.out)
			q.out = nil
		}
		if q.in != nil {
			l.putBuf(q.in)
			q.in = nil
		}
		if !c.sendBusy {
			l.trimBufs(c)
		}
	}
	if c.counted() {
		l.s.nconns.Add(-1)
	}
	// Deferred: a runtime.Goexit in OnClose must not skip it (the state says
	// closed, so the loop's teardown skips c and would wait for its release).
	defer l.b.shutdown(c)
	l.callClose(c, err)
}

// release is called by the backend when no op is in flight on a finished
// conn: the fd is closed and the slot freed.
func (l *Loop) release(c *Conn) {
	if c.state == stateReleased {
		return
	}
	linger := false
	if c.state == stateClosedGraceful {
		// Decided here, right before close(2), not when the close began: input that arrives
		// meanwhile (io_uring releases once the cancelled ops completed; a pipelined request)
		// would be unread at close(2), which then resets the connection. Input can still come
		// between this check and close(2): the FIN goes first, so that the reset it then
		// causes reaches the peer after the end of the output (it reads the output, then EOF).
		linger = l.shutWrite(c)
		if !linger && c.peer.kind != 0 && !c.eofSeen {
			_ = unix.Shutdown(int(c.fd), unix.SHUT_WR)
		}
	}
	c.state = stateReleased
	l.b.forget(c, linger)
	if linger {
		l.linger(int(c.fd), c.peer.kind != 0)
	} else {
		unix.Close(int(c.fd))
	}
	if q := c.bufs; q != nil {
		if !c.sendBusy && q.sendBuf != nil {
			l.putBuf(q.sendBuf)
		}
		q.sendBuf, q.sendOff = nil, 0
		q.in, q.out, q.rbuf = nil, nil, nil
		l.trimBufs(c)
	}
	if r := c.rare(); r != nil {
		r.dial = nil
	}
	l.freeSlot(c)
}

// Accept and connect.

// accepted takes a new socket from a listener.
func (l *Loop) accepted(ln *listener, fd int, peer ipPort) {
	s := l.s
	if l.draining || l.stopReq.Load() {
		unix.Close(fd)
		return
	}
	if ln.tcp && peer.kind == 0 {
		// Multishot accept reports no address: PeerAddrPort gives it, also for
		// a conn the peer reset while it was queued (SO_PEERNAME, as accept(2)
		// and so epoll open it). Should it still fail, drop the conn rather
		// than open one that has no remote address.
		if peer = ipPortFrom(netpoll.PeerAddrPort(fd)); peer.kind == 0 {
			unix.Close(fd)
			return
		}
	}
	refused := !s.admit()
	if refused && s.refuser == nil {
		unix.Close(fd)
		return
	}
	c := &Conn{l: l, fd: int32(fd), state: stateOpen}
	if refused {
		c.r().refused = true // before c is published
	}
	if ln.tcp {
		// Compact addresses: nothing per conn on the heap.
		c.peer = peer // never empty (above)
		c.local = ln.localFor(fd)
		if c.local.kind == 0 {
			c.r() // before c is published: Local/RemoteAddr may read it
		}
	} else {
		// Set before c is published, never replaced (see connRare).
		r := c.r()
		r.raddr = peerAddr(fd, ln)
		r.laddr = ln.addr
	}
	l.openConn(c)
}

// openConn registers c, counted by admit unless refused, with the backend
// and runs OnOpen, or OnRefuse and a close.
func (l *Loop) openConn(c *Conn) {
	l.allocSlot(c)
	c.lastActive = l.mono
	if err := l.b.open(c); err != nil {
		c.state = stateClosed
		if c.counted() {
			l.s.nconns.Add(-1)
		}
		l.b.shutdown(c)
		return
	}
	if d := l.s.cfg.idle; d > 0 {
		c.SetIdleTimeout(d)
	}
	if !c.counted() {
		l.callRefuse(l.s.refuser, c)
		c.Close() // not read: wantRead is false from here on
		return
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
	la := &ipPortOrAddr{}
	if c.peer.kind != 0 {
		la.ip = ipPortFrom(netpoll.LocalAddrPort(int(c.fd)))
	} else {
		la.addr = localAddr(int(c.fd))
	}
	c.ext.rare.dialLocal.Store(la) // read from any goroutine (see kindDialed)
	c.lastActive = l.mono
	l.callOpen(c)
	if c.state == stateOpen && c.closeRequested() {
		l.closeGraceful(c) // Close was called while connecting, or by OnOpen
		return
	}
	if c.wantRead() {
		l.b.resume(c)
	}
	if c.Buffered() > 0 || c.closeRequested() || c.shutPending() {
		l.markDirty(c)
	}
}

// redeliverBeforeEOF presents input kept while reading was paused to a conn
// whose EOF already came, then finishes the EOF, unless the handler paused
// again (then the next resume comes back here).
func (l *Loop) redeliverBeforeEOF(c *Conn) {
	if c.state != stateOpen || c.userPaused || c.hwPaused || c.closeRequested() {
		return // Close was called: no OnData after it; its task ends c
	}
	if c.keptIn() > 0 {
		l.deliverKept(c, l.keptWindow(c))
	}
	if c.state == stateOpen && !c.userPaused && !c.hwPaused {
		c.eofPending = false
		if r := c.rare(); r != nil && r.readErr != nil {
			if !c.closeRequested() {
				l.finish(c, r.readErr) // the reset that came after the kept input
			}
			// Else OnData called Close (its task's closeGraceful finishes c with
			// readErr) or CloseWithError (its task, with its error, as on epoll).
			return
		}
		l.finishEOF(c)
	}
}

// publishOut updates asyncOut, AsyncWrite's view of c's queued output, with
// what Write and AsyncWrite queued. A queue under asyncQuiet(limit) is not
// published unless a larger one was: the usual small response in flight then
// costs no atomic store per flush and per send, and AsyncWrite's bound is off
// by less than that much. Loop only.
func (c *Conn) publishOut() {
	b, old := int64(c.Buffered()), c.asyncOut.Load()
	if b != old && (b >= asyncQuiet(c.l.s.cfg.asyncLimit) || old != 0) {
		c.asyncOut.Store(b)
	}
}

// asyncQuiet is the queue size below which publishOut need not publish:
// 64 KiB, or a quarter of a smaller AsyncWrite limit.
func asyncQuiet(limit int64) int64 { return min(64<<10, limit/4) }
