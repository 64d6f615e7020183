//go:build linux

package reactor

import (
	"errors"
	"net"
	"os"

	"github.com/ringo-io/ringo/netpoll"
	"golang.org/x/sys/unix"
)

// dialState is the memory of a connect: the kernel reads rsa until the
// connect completes (io_uring: its CQE), so it lives on the Conn until then.
type dialState struct {
	rsa    unix.RawSockaddrAny
	rsaLen uint32
	err    error // epoll: a connect that failed at once, reported next iteration
}

// Dial connects to addr ("tcp", "tcp4", "tcp6" with a literal IP address or
// a name resolved now, or "unix") from this loop, so both sides of a proxy
// share a loop. It returns the Conn at once: h.OnOpen runs when connected,
// h.OnClose(c, err) if the connect fails. Writes before OnOpen are queued.
// There is no connect timeout of its own (the kernel gives up on an
// unanswered connect after minutes): a read deadline or an idle timeout set
// on the returned Conn applies while it connects, and ends the dial with
// ErrDeadline or ErrIdleTimeout. During a Shutdown it still dials (a busy
// conn's handler may need its upstream; the drain closes the new conn when
// idle, as any other); once the loop is stopping (or, in a Shutdown, has
// drained, its conns all closed) it returns ErrLoopClosed.
// Loop only.
func (l *Loop) Dial(network, addr string, h Handler) (*Conn, error) {
	if h == nil {
		return nil, errors.New("reactor: nil handler")
	}
	if !l.onLoop() {
		return nil, ErrNotLoop
	}
	// Not refused while draining: a handler Shutdown waits for (SetBusy) may
	// need its upstream to finish; the drain waits for the dialed conn too.
	// A loop that has drained stops with Shutdown's Close, which would cut a
	// conn dialed now: it is stopping.
	if l.b == nil || l.stopReq.Load() || l.drained {
		return nil, ErrLoopClosed
	}
	var ra net.Addr
	tcp := true
	switch network {
	case "tcp", "tcp4", "tcp6":
		ta, err := net.ResolveTCPAddr(network, addr)
		if err != nil {
			return nil, err
		}
		if ta.IP == nil {
			// The local system, as package net dials it: ::1 for tcp6.
			ta.IP = net.IPv4(127, 0, 0, 1)
			if network == "tcp6" {
				ta.IP = net.IPv6loopback
			}
		}
		ra = ta
	case "unix":
		ra = &net.UnixAddr{Name: addr, Net: "unix"}
		tcp = false
	default:
		return nil, errors.New("reactor: unsupported network " + network)
	}
	d := &dialState{}
	rl, family, err := netpoll.PutAddr(&d.rsa, ra)
	if err != nil {
		return nil, err
	}
	d.rsaLen = rl
	typ := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	if l.b.kind() == BackendEpoll {
		typ |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(family, typ, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if tcp {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	c := &Conn{l: l, fd: int32(fd), state: stateConnecting, local: ipPort{kind: kindDialed}}
	if tcp {
		c.peer = ipPortOfAddr(ra)
	}
	r := c.r() // set before c is published, never replaced (see connRare)
	if c.peer.kind == 0 {
		r.raddr = ra
	}
	r.dial = d
	r.h = h
	l.allocSlot(c)
	l.s.nconns.Add(1)
	c.lastActive = l.mono
	if err := l.b.open(c); err != nil {
		c.state = stateClosed
		l.s.nconns.Add(-1)
		l.b.shutdown(c)
		return nil, err
	}
	if di := l.s.cfg.idle; di > 0 {
		c.SetIdleTimeout(di)
	}
	l.b.connect(c)
	return c, nil
}
