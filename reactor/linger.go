//go:build linux

package reactor

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringo-io/ringo/netpoll"
)

// Lingering close.
//
// close(2) on a TCP socket that holds unread input, or that receives input
// afterwards, resets the connection: the kernel discards the output it has
// not sent yet, and the peer's read fails with ECONNRESET (an HTTP/1.0
// body that ends at the close then looks cut off). A peer that pipelines
// requests, or is still sending a body the server will not read, does that
// as a matter of course. So a conn closed gracefully (Close, or the end of
// its output after Close) whose peer has sent input the conn did not read
// (the sign that it is still sending, as nginx reads it), or whose output
// has not all been transmitted yet (the peer's window is full: input that
// arrives meanwhile would cost it the rest), has its write side shut down
// (FIN after the queued output) and its fd kept open after the conn is
// released: the loop reads and discards its input until it is safe
// to close, and only then closes it. Safe: the peer sent EOF or reset, or,
// on TCP, it has acknowledged all the output and the FIN (a reset then
// costs it nothing: its reads return the data, then EOF), or lingerMax has
// passed. A unix socket has no acknowledgement to wait for, and closing it
// with input queued makes the peer's reads end with ECONNRESET instead of
// EOF once it has read the output, so it waits for the peer's EOF or
// lingerMax. Other conns, conns whose peer sent EOF already, and conns
// ended by an error or by Server.Close are closed at once.
//
// Why not every graceful close: lingering moves work to the server that
// the peer's close did otherwise (its FIN reaches a socket that is still
// open): with conns churned by Connection: close and small responses,
// lingering on every close measured 1.19-1.27x the server CPU per request
// (the machine's total, 1.04x); with the two checks, 1.03-1.06x. A reset does
// not take back what was transmitted: what remains unprotected is its
// retransmission, should a segment be lost and the peer send input after
// the close was decided.
const (
	lingerMax   = 2 * time.Second        // the longest an fd lingers
	lingerFirst = time.Millisecond       // the first poll; each next one waits twice as long
	lingerLast  = 250 * time.Millisecond // the longest wait between polls
	lingerCap   = 4096                   // fds lingering per loop; beyond, fds are drained and closed at once
	lingerRead  = 64 << 10               // bytes discarded per fd per poll at most
	lingerBatch = 64                     // fds polled per timer run at most (the rest in the next iteration)
)

// lingerFd is the fd of a released conn, which waits until closing it is
// safe (see above).
type lingerFd struct {
	fd    int32
	tcp   bool  // else a unix socket: closed at the peer's EOF (or lingerMax) only
	wait  int64 // until the next poll (ns), doubled each poll
	next  int64 // loop clock of the next poll
	until int64 // loop clock at which it is closed anyway
}

// shutWrite shuts down c's write side for a graceful close and reports
// whether its fd is to linger once released (see above).
func (l *Loop) shutWrite(c *Conn) bool {
	if c.eofSeen || l.stopReq.Load() {
		return false
	}
	fd := int(c.fd)
	if n, err := netpoll.Unread(fd); err != nil || n == 0 {
		// Nothing unread: linger only if output has not been transmitted yet.
		if c.peer.kind == 0 {
			return false
		}
		if n, err := netpoll.Unsent(fd); err != nil || n == 0 {
			return false
		}
	}
	return unix.Shutdown(fd, unix.SHUT_WR) == nil
}

// linger takes over the fd of a released conn (loop only). It is first
// looked at a poll later, not now: the FIN has just left, so the peer's EOF
// or acknowledgement cannot be there yet. A unix socket is drained now, and
// closed at once if that brought its peer's EOF.
func (l *Loop) linger(fd int, tcp bool) {
	if len(l.lingers) >= lingerCap || l.tornDown {
		l.discard(fd)
		unix.Close(fd)
		return
	}
	if !tcp && l.discard(fd) {
		unix.Close(fd)
		return
	}
	e := lingerFd{fd: int32(fd), tcp: tcp, wait: int64(lingerFirst), next: l.mono + int64(lingerFirst), until: l.mono + int64(lingerMax)}
	l.lingers = append(l.lingers, e)
	l.armLinger(e.next)
}

// armLinger makes the linger timer fire at when at the latest.
func (l *Loop) armLinger(when int64) {
	t := l.lingerT
	if t == nil {
		t = &Timer{l: l, f: l.pollLingers, idx: -1}
		l.lingerT = t
	}
	if t.idx >= 0 {
		if t.when <= when {
			return
		}
		l.timers.remove(t)
	}
	t.when = when
	l.timers.push(t)
}

// pollLingers discards what each due fd received and closes those whose
// peer is done (or whose time is up).
func (l *Loop) pollLingers() {
	keep := l.lingers[:0]
	next := int64(0)
	polled := 0
	for _, e := range l.lingers {
		if e.next <= l.mono && polled < lingerBatch {
			polled++
			if l.safeToClose(int(e.fd), e.tcp) || l.mono >= e.until {
				unix.Close(int(e.fd))
				continue
			}
			e.wait = min(2*e.wait, int64(lingerLast))
			e.next = min(l.mono+e.wait, e.until)
		}
		if next == 0 || e.next < next {
			next = e.next
		}
		keep = append(keep, e)
	}
	clear(l.lingers[len(keep):])
	l.lingers = keep
	if next != 0 {
		l.armLinger(next)
	}
}

// safeToClose discards what the socket fd received and reports whether
// closing it can no longer cost the peer output, or its EOF (see above).
func (l *Loop) safeToClose(fd int, tcp bool) bool {
	if l.discard(fd) {
		return true
	}
	if !tcp {
		return false
	}
	n, err := netpoll.Unacked(fd)
	return err != nil || n == 0
}

// discard reads and drops what fd holds, and reports whether the peer is
// done: EOF or an error (a reset included).
func (l *Loop) discard(fd int) bool {
	if l.lingerBuf == nil {
		l.lingerBuf = make([]byte, 16<<10)
	}
	for n := 0; n < lingerRead; {
		m, err := netpoll.Recv(fd, l.lingerBuf)
		if err == unix.EAGAIN {
			return false
		}
		if err != nil || m == 0 {
			return true
		}
		n += m
	}
	return false
}

// closeLingers closes every lingering fd (teardown: Server.Close, or the end
// of a Shutdown, which waited for them unless its context expired).
func (l *Loop) closeLingers() {
	for _, e := range l.lingers {
		unix.Close(int(e.fd))
	}
	l.lingers = nil
	l.lingerT.Stop()
}
