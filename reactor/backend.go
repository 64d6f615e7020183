//go:build linux

package reactor

import "time"

// The backend contract.
//
// The loop core (loop.go, conn_*.go, timer.go) is written once. It drives a
// kernel interface through a backend, of which there are two adapters:
// backend_uring.go (io_uring, completion based) and backend_epoll.go (epoll,
// readiness based, emulating completions). Every backend method is called on
// the loop's goroutine, which is locked to its OS thread.
//
// A backend provides:
//
//	listen(ln)      arm accepting on ln.fd. Every accepted socket is reported
//	                with l.accepted(ln, fd, peer) (peer may be nil).
//	unlisten(ln)    stop accepting; when no accept op is in flight any more,
//	                call l.listenerDone(ln) (which closes the fd).
//	open(c)         take c (fd set, state open or connecting) into the
//	                backend (epoll: register it; io_uring: put the socket in
//	                the registered file table). Do not read yet: the core
//	                runs OnOpen first, then calls resume.
//	resume(c)       (re)start reading c: the core calls it when c.wantRead()
//	                becomes true. Idempotent.
//	pause(c)        stop reading c soon. Bytes the kernel already completed
//	                are still reported with l.input; the core keeps them.
//	send(c)         send c.sending() (non-empty). One send per conn in flight:
//	                the core calls send again only after l.sent. Report
//	                l.sent(c, n, nil) with the n >= 0 bytes written from the
//	                start of c.sending() (n may be short, even 0: the core calls
//	                send again with the rest at once; epoll reports a short
//	                send only together with waiting for EPOLLOUT), or
//	                l.sent(c, 0, err). The memory of c.bufs.sendBuf must not be
//	                touched by the core until then.
//	connect(c)      connect c.fd to c.ext.rare.dial.rsa; report l.connected(c, err).
//	shutdown(c)     the core is done with c: end every op on c (shutdown(2),
//	                cancel); when none is in flight any more, call
//	                l.release(c), which closes the fd. Before that, c's
//	                memory (c.bufs.sendBuf, c.bufs.rbuf, c.ext.rare.dial) stays referenced.
//	forget(c, kept) drop every reference the backend gave the kernel to c's
//	                socket besides the fd (io_uring: its registered file slot;
//	                epoll, when kept: the fd is not closed yet but lingers,
//	                so its registration goes too); release calls it right
//	                before it closes the fd or hands it to linger.
//	wait(d)         submit what is queued, wait up to d (<0 forever, 0 poll)
//	                for at least one event, and dispatch every ready one.
//	unreaped()      whether the kernel may hold completed events that no
//	                wait dispatched yet (io_uring: CQEs posted since, which
//	                task work run at any syscall's exit posts on rings without
//	                DEFER_TASKRUN, with the bytes read out of the socket;
//	                epoll: never, its reads happen in wait).
//	(wake-ups)      the loop's netpoll.Waker (l.waker, created before the
//	                backend and safe from any goroutine) must make a blocked
//	                wait return soon: the backend watches its eventfd and
//	                calls its Drain/Acknowledge before returning. Parked
//	                loops (epoll) are woken through the backend's
//	                netpoll.Parker instead (l.parker, see Loop.wakeUp): its
//	                ready func checks the flags wakers set before waking.
//	close()         free the kernel objects (ring, buffers, epoll).
//	                Called once, after every conn and listener was released.
//
// Events delivered to the core, and their guarantees:
//
//	l.accepted(ln, fd, peer)  a new socket, owned by the core from now on.
//	l.input(c, data)          bytes read; data is valid only during the call
//	                          (a provided buffer is recycled right after).
//	                          In stream order; never after l.eof(c, ...).
//	l.eof(c, err)             reading ended: err nil is a clean EOF; else
//	                          the socket error. At most once per conn.
//	l.sent(c, n, err)         the in-flight send completed.
//	l.connected(c, err)       a dial finished (err nil: connected).
//	l.release(c)              the last op on a shut-down conn completed.
//	wake-ups                  are consumed by the backend; the core runs
//	                          its task queue on every iteration anyway.
//
// For one conn, events arrive in kernel completion order; reads never
// overlap each other and sends never overlap each other.
type backend interface {
	kind() Backend
	listen(ln *listener) error
	unlisten(ln *listener)
	open(c *Conn) error
	resume(c *Conn)
	pause(c *Conn)
	send(c *Conn)
	connect(c *Conn)
	shutdown(c *Conn)
	forget(c *Conn, kept bool)
	wait(d time.Duration) error
	unreaped() bool
	close() error
}

// Token layout, shared by io_uring user_data and epoll data:
//
//	bits  0..31  slot (conn table index, or listener index for opAccept)
//	bits 32..55  generation of the slot (24 bits; stale events are dropped)
//	bits 56..63  op kind
//
// It is never a Go pointer.
const (
	opAccept uint64 = iota + 1
	opRecv
	opSend
	opConnect
	opCancel
	opWake
	opConn // epoll: readiness of a conn fd
)

const genMask = 1<<24 - 1

func token(op uint64, slot, gen uint32) uint64 {
	return op<<56 | uint64(gen&genMask)<<32 | uint64(slot)
}

func untoken(t uint64) (op uint64, slot, gen uint32) {
	return t >> 56, uint32(t), uint32(t>>32) & genMask
}
