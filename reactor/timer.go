//go:build linux

package reactor

import (
	"math"
	"time"

	"github.com/ringo-io/ringo/netpoll"
)

// Timer is a loop timer made by Loop.AfterFunc. Loop only.
type Timer struct {
	l    *Loop
	when int64  // loop clock, nanoseconds
	seq  uint64 // arming order: timers due at the same time run in it
	idx  int    // index in the heap, -1 when not scheduled
	f    func() // user timer
	c    *Conn  // conn deadline timer (f is nil)
}

// AfterFunc runs f on the loop after d (measured on the loop clock).
// Timers due at the same time run in the order they were armed. Loop only.
func (l *Loop) AfterFunc(d time.Duration, f func()) *Timer {
	t := &Timer{l: l, f: f, idx: -1}
	if d < 0 {
		d = 0
	}
	t.when = l.mono + int64(d)
	if t.when < l.mono {
		t.when = math.MaxInt64 // overflow: never
	}
	l.timers.push(t)
	return t
}

// Stop cancels t; it reports whether t was still pending. Loop only.
func (t *Timer) Stop() bool {
	if t == nil || t.idx < 0 {
		return false
	}
	t.l.timers.remove(t)
	return true
}

// deadline converts an absolute time to the loop clock (0 = none).
func (l *Loop) deadline(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	d := int64(t.Sub(l.base))
	if d <= 0 {
		d = 1
	}
	return d
}

// idleDue is when c's idle timeout ends (loop clock; c.ext.idle > 0).
func (c *Conn) idleDue() int64 {
	if due := c.lastActive + int64(c.ext.idle); due >= c.lastActive {
		return due
	}
	return math.MaxInt64 // overflow: never
}

// connDue returns c's nearest deadline (0 = none).
func (c *Conn) connDue() int64 {
	x := c.ext
	if x == nil {
		return 0
	}
	due := int64(0)
	pick := func(v int64) {
		if v > 0 && (due == 0 || v < due) {
			due = v
		}
	}
	if x.idle > 0 {
		pick(c.idleDue())
	}
	if c.state != stateClosing {
		pick(x.readDL) // a closing conn reads no more: see SetReadDeadline
	}
	if c.Buffered() > 0 {
		pick(x.writeDL) // else armed when output is queued (queueOut)
	}
	return due
}

// scheduleConnTimer (re)arms c's single deadline timer. Activity does not
// touch the heap: when the timer fires, the deadlines are re-checked and the
// timer re-armed for the nearest one. Nor does clearing the deadlines: an
// armed timer stays and, when it fires, finds nothing due and is not
// re-armed. So a timeout switched off and on again around each request
// (httpx's idle timeout while a handler runs) costs no heap operation.
func (l *Loop) scheduleConnTimer(c *Conn) {
	if c.state >= stateClosed {
		return
	}
	due := c.connDue()
	if due == 0 {
		return
	}
	t := &c.ext.timer // connDue != 0: ext exists
	if t.idx >= 0 {
		if t.when <= due {
			return // fires earlier and re-checks
		}
		l.timers.remove(t)
	}
	t.when = due
	l.timers.push(t)
}

func (l *Loop) connTimerFired(c *Conn) {
	if c.state >= stateClosed {
		return
	}
	now := l.mono
	x := c.ext // a conn timer fired: ext exists
	switch {
	case x.readDL > 0 && now >= x.readDL && c.state != stateClosing:
		l.finish(c, ErrDeadline)
	case x.writeDL > 0 && now >= x.writeDL && c.Buffered() > 0:
		l.finish(c, ErrDeadline)
	case x.idle > 0 && now >= c.idleDue():
		if end, ok := l.iterEnd(c.lastActive); ok {
			// Active in a slow iteration, which dates activity to its start: a
			// slow callback in it (another conn's OnData) may have run longer
			// than the timeout since. Its end bounds the activity.
			c.lastActive = end
			l.scheduleConnTimer(c)
			return
		}
		if l.peerReading(c) {
			c.lastActive = now
			l.scheduleConnTimer(c)
			return
		}
		l.finish(c, ErrIdleTimeout)
	default:
		// A write deadline that passed with nothing queued stays: output
		// queued later re-arms the timer (queueOut) and fails at once.
		l.scheduleConnTimer(c)
	}
}

// peerReading reports whether the peer took output from the kernel's send
// queue since its last sample (x.outq): then an idle timeout that ends finds
// activity the reactor cannot see, a peer reading a large output more
// slowly than the kernel reports room for it (epoll and io_uring report a
// socket writable once a third of its buffer is free). Without a sample (the
// last send left nothing in the reactor, but the kernel still holds output)
// it takes one and grants one more period: a peer that reads nothing is
// then closed after twice the timeout. Loop only.
func (l *Loop) peerReading(c *Conn) bool {
	x := c.ext
	n, err := netpoll.Unacked(int(c.fd))
	if err != nil || n == 0 {
		return false // nothing in the kernel's queue: idle indeed
	}
	prev := x.outq
	x.outq = n
	return prev == 0 || n < prev
}

// runTimers runs the timers due. A timer that a callback arms due now (an
// AfterFunc(0) chain that yields to I/O) runs in the next iteration, else
// such a chain would keep the loop here for ever (or, with other timers
// pending, for as many steps as the heap holds).
func (l *Loop) runTimers() {
	last := l.timerSeq // timers armed (or re-armed) from here on wait for the next iteration
	for {
		t := l.timers.peek()
		if t == nil || t.when > l.mono || t.seq > last {
			return
		}
		l.timers.remove(t)
		if t.c != nil {
			l.connTimerFired(t.c)
		} else if t.f != nil {
			l.safeCall(t.f)
		}
	}
}

// timerHeap is a binary min-heap on when.
type timerHeap []*Timer

func (h *timerHeap) peek() *Timer {
	if len(*h) == 0 {
		return nil
	}
	return (*h)[0]
}

func (h *timerHeap) push(t *Timer) {
	t.l.timerSeq++
	t.seq = t.l.timerSeq
	t.idx = len(*h)
	*h = append(*h, t)
	h.up(t.idx)
}

func (h *timerHeap) remove(t *Timer) {
	i := t.idx
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	t.idx = -1
	if i != last {
		h.down(i)
		h.up(i)
	}
}

// less orders timers by when, then by arming order (seq): timers armed
// for the same time run in the order they were armed.
func (h timerHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	return a.when < b.when || a.when == b.when && a.seq < b.seq
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}
