//go:build linux

package reactor

import (
	"time"

	"github.com/ringo-io/ringo/netpoll"
	"golang.org/x/sys/unix"
)

// epollBackend emulates the completion events of the contract (backend.go)
// from edge-triggered readiness: a read event leads to nonblocking reads
// into the loop's one read buffer, a send is a nonblocking send that waits
// for EPOLLOUT on EAGAIN, a connect waits for EPOLLOUT and reads SO_ERROR.
// No op is ever in flight in the kernel, so shutdown releases at once.
type epollBackend struct {
	l     *Loop
	p     *netpoll.Poller
	rbuf  []byte              // read buffer, valid during l.input only
	rsa   unix.RawSockaddrAny // accept's peer address
	ready []*Conn             // readable conns left over (read budget, resume)
	spare []*Conn
	lnRdy []*listener // listeners with connections left over
	fails []*Conn     // dials that failed at once

	parker *netpoll.Parker // parked loops: waits park in the runtime's netpoller
	pn     int             // parked loops: events found by the Parker's poll
	perr   error           // parked loops: its error
}

// readBudget bounds the reads per conn per event (fairness); what is left is
// read on the next iteration.
const readBudget = 16

// acceptBudget bounds the accepts per listener per iteration.
const acceptBudget = 64

func newEpoll(l *Loop) (*epollBackend, error) {
	p, err := netpoll.New(512)
	if err != nil {
		return nil, err
	}
	if err := p.Add(l.waker.Fd(), token(opWake, 0, 0), netpoll.InterestRead); err != nil {
		p.Close()
		return nil, err
	}
	b := &epollBackend{l: l, p: p, rbuf: make([]byte, max(l.s.cfg.readBufSize, 64<<10))}
	if l.s.cfg.parked {
		// Work queued from other goroutines (tasks, stop, drain) is published
		// before Loop.wakeUp calls the Parker's Wake, which is how a parked
		// loop is woken: no eventfd write (see netpoll.Parker.Park).
		ready := func() bool {
			// (Not in teardown, whose waits are for the kernel's events.)
			if !l.tornDown && l.signalled() {
				b.pn, b.perr = 0, nil
				return true
			}
			b.pn, b.perr = b.p.Wait(0)
			return b.pn > 0 || b.perr != nil
		}
		if b.parker, err = netpoll.NewParker(p.Fd(), ready); err != nil {
			p.Close()
			return nil, err
		}
		l.parker.Store(b.parker)
	}
	return b, nil
}

func (b *epollBackend) kind() Backend { return BackendEpoll }

func (b *epollBackend) unreaped() bool { return false }

func (b *epollBackend) listen(ln *listener) error {
	ln.armed = true
	return b.p.Add(ln.fd, token(opAccept, uint32(ln.idx), 0), netpoll.InterestRead)
}

func (b *epollBackend) unlisten(ln *listener) {
	b.p.Del(ln.fd)
	b.l.listenerDone(ln)
}

func (b *epollBackend) forget(c *Conn, kept bool) {
	if kept {
		b.p.Del(int(c.fd)) // its events would wake the loop for nothing (the slot is free)
	}
}

func (b *epollBackend) open(c *Conn) error {
	if c.peer.kind == 0 {
		// Not TCP (a unix socket): a read stops after a message that carried
		// descriptors (SCM_RIGHTS) with more queued behind it.
		c.epDrain = true
	}
	return b.p.Add(int(c.fd), token(opConn, c.slot, c.gen), netpoll.InterestReadWrite)
}

func (b *epollBackend) resume(c *Conn) {
	if c.epReadable {
		b.queue(c)
	}
}

func (b *epollBackend) pause(c *Conn) {} // reads check wantRead

func (b *epollBackend) queue(c *Conn) {
	if !c.epQueued {
		c.epQueued = true
		b.ready = append(b.ready, c)
	}
}

// send writes as much of c.sending() as the socket takes. On EAGAIN it
// reports the progress made (if any) and waits for EPOLLOUT: the core's
// immediate send call for the rest returns at once (epSendWait).
func (b *epollBackend) send(c *Conn) {
	if c.epSendWait {
		return
	}
	total := 0
	for total < len(c.sending()) {
		n, err := netpoll.Send(int(c.fd), c.sending()[total:])
		if err == unix.EAGAIN {
			c.epSendWait = true
			break
		}
		if err != nil {
			if total > 0 {
				// The bytes the earlier sends took count first (done callbacks,
				// NotifySent, Buffered), as an io_uring send completion reports
				// them before the next send fails. epSendWait makes the core's
				// call for the rest return at once: the error ends c here.
				c.epSendWait = true
				b.l.sent(c, total, nil)
				c.epSendWait = false
				if c.state >= stateClosed || !c.sendBusy {
					return // a callback closed c, or aborted it (its task ends c)
				}
			}
			b.l.sent(c, 0, err)
			return
		}
		total += n
	}
	if total > 0 {
		b.l.sent(c, total, nil)
	}
}

func (b *epollBackend) connect(c *Conn) {
	err := netpoll.Connect(int(c.fd), &c.ext.rare.dial.rsa, c.ext.rare.dial.rsaLen)
	if err == nil || err == unix.EINPROGRESS {
		return // EPOLLOUT (registered by open) reports the result
	}
	c.ext.rare.dial.err = err
	b.fails = append(b.fails, c)
}

func (b *epollBackend) shutdown(c *Conn) {
	// Nothing is in flight; closing the fd removes it from the epoll set.
	b.l.release(c)
}

func (b *epollBackend) wait(d time.Duration) error {
	if len(b.ready) > 0 || len(b.lnRdy) > 0 || len(b.fails) > 0 {
		d = 0
	}
	ms := -1
	if d >= 0 {
		ms = int((d + time.Millisecond - 1) / time.Millisecond)
	}
	// Conns already queued are read after this wait's events.
	pending := b.ready
	b.ready = b.spare[:0]
	var n int
	var err error
	if b.parker != nil && d != 0 {
		n, err = b.park(d)
	} else {
		n, err = b.p.Wait(ms)
	}
	if err != nil {
		return err
	}
	l := b.l
	l.tick()
	for i := 0; i < n; i++ {
		tok, ev := b.p.Event(i)
		op, slot, gen := untoken(tok)
		switch op {
		case opWake:
			l.waker.Drain()
		case opAccept:
			if int(slot) < len(l.listeners) {
				b.acceptAll(l.listeners[slot])
			}
		case opConn:
			c := l.lookup(slot, gen)
			if c == nil {
				continue // stale: the slot was released and reused
			}
			b.event(c, ev)
		}
	}
	for i, c := range pending {
		pending[i] = nil
		c.epQueued = false
		if c.state == stateOpen && c.epReadable && c.wantRead() {
			b.read(c)
			b.flushRead(c)
		}
	}
	b.spare = pending[:0]
	if len(b.lnRdy) > 0 {
		lns := b.lnRdy
		b.lnRdy = nil
		for _, ln := range lns {
			b.acceptAll(ln)
		}
	}
	if len(b.fails) > 0 {
		fails := b.fails
		b.fails = nil
		for _, c := range fails {
			if c.state == stateConnecting { // else finished meanwhile (a released conn has no dial)
				l.connected(c, c.ext.rare.dial.err)
			}
		}
	}
	return nil
}

func (b *epollBackend) event(c *Conn, ev uint32) {
	l := b.l
	if c.state == stateConnecting {
		if d := c.ext.rare.dial; d != nil && d.err != nil {
			// connect(2) failed at once: the unconnected socket reports writable
			// (and SO_ERROR 0); wait reports d.err (b.fails).
			return
		}
		if ev&(netpoll.EventWrite|netpoll.EventErr|netpoll.EventHup) != 0 {
			l.connected(c, netpoll.SocketError(int(c.fd)))
		}
		if c.state != stateOpen {
			return
		}
	}
	if ev&(netpoll.EventHup|netpoll.EventPri) != 0 {
		// A hang-up: the EOF may sit behind the bytes read. Urgent data: a
		// read stops short at its mark with bytes queued behind it.
		c.epDrain = true
	}
	if ev&(netpoll.EventRead|netpoll.EventHup|netpoll.EventErr|netpoll.EventPri) != 0 {
		c.epReadable = true
		if c.wantRead() {
			b.read(c)
			b.flushRead(c)
		}
	}
	if ev&(netpoll.EventWrite|netpoll.EventErr) != 0 && c.epSendWait {
		c.epSendWait = false
		if c.sendBusy && c.state < stateClosed && !c.abortPending() {
			b.send(c)
		}
	}
}

// flushRead sends what the handler wrote in answer to the reads just done,
// at once rather than at the end of the iteration: still one send for all
// of them, but while the bytes are in cache, and the output buffer goes
// back to the pool for the next conn (with 1,000 conns echoing 64 KiB, the
// end-of-iteration flush held hundreds of filled 64 KiB buffers). The
// conn stays in the loop's dirty list; its flush there finds nothing left.
func (b *epollBackend) flushRead(c *Conn) {
	if c.dirty {
		b.l.flushConn(c)
	}
}

// read reads c until EAGAIN, EOF, a short read or the budget.
//
// A short read means the socket's queue was empty at that instant: any byte
// arriving later raises a new edge, so no EAGAIN probe is needed, except
// after a hang-up (the FIN may already be queued behind the bytes read and
// raises no further edge): then read on to EOF.
func (b *epollBackend) read(c *Conn) {
	l := b.l
	for i := 0; i < readBudget; i++ {
		n, err := netpoll.Read(int(c.fd), b.rbuf)
		switch {
		case err == unix.EAGAIN:
			c.epReadable = false
			return
		case err != nil:
			c.epReadable = false
			l.eof(c, err)
			return
		case n == 0:
			c.epReadable = false
			l.eof(c, nil)
			return
		}
		l.input(c, b.rbuf[:n])
		if !c.wantRead() {
			return // stays readable: resume queues it
		}
		if n < len(b.rbuf) && !c.epDrain {
			c.epReadable = false
			return
		}
	}
	b.queue(c)
}

func (b *epollBackend) acceptAll(ln *listener) {
	l := b.l
	if ln.closing || !ln.armed {
		return
	}
	for i := 0; i < acceptBudget; i++ {
		fd, err := netpoll.Accept(ln.fd, &b.rsa, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
		case unix.EAGAIN:
			return
		case unix.ECONNABORTED:
			// The peer reset it while queued; take the next one.
			continue
		default:
			// EMFILE, ENFILE, ENOBUFS, ENOMEM: no progress possible now; the
			// pending connections raise no new edge, so retry on a timer.
			l.acceptWarn(ln, err)
			b.retryAccept(ln)
			return
		}
		l.accepted(ln, fd, ipPortFrom(netpoll.AddrPort(&b.rsa)))
	}
	b.lnRdy = append(b.lnRdy, ln)
}

func (b *epollBackend) retryAccept(ln *listener) {
	if ln.backoff != nil && ln.backoff.idx >= 0 {
		return
	}
	ln.backoff = b.l.AfterFunc(10*time.Millisecond, func() { b.acceptAll(ln) })
}

// park polls, and if nothing is ready parks the loop goroutine until the
// epoll fd is readable or d has passed (parked loops).
func (b *epollBackend) park(d time.Duration) (int, error) {
	n, err := b.p.Wait(0)
	if err != nil || n > 0 {
		return n, err
	}
	b.pn, b.perr = 0, nil
	if err := b.parker.Park(d); err != nil {
		return 0, err
	}
	return b.pn, b.perr
}

func (b *epollBackend) close() error {
	if b.parker != nil {
		b.parker.Close()
	}
	return b.p.Close()
}
