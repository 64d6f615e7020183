//go:build linux

package reactor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/ringo-io/ringo/netpoll"
	"golang.org/x/sys/unix"
)

// listener is one loop's listening socket. Loop only (after Start).
type listener struct {
	l        *Loop
	idx      int
	fd       int
	tcp      bool
	addr     net.Addr            // bound address
	specific bool                // addr has a specific IP: accepted conns' local address
	shared   *sharedFD           // unix: one fd for every loop
	closing  bool                // unlisten called
	done     bool                // no accept op in flight; fd closed (or shared ref dropped)
	inflight int32               // io_uring accept ops in flight
	armed    bool                // an accept is armed
	backoff  *Timer              // retry after EMFILE and friends
	warned   int64               // loop clock of the last accept warning (acceptWarn)
	muted    int                 // accept errors not logged since
	rsa      unix.RawSockaddrAny // single-shot accept address (kernel writes until CQE)
	rsaLen   uint32
}

// sharedFD is a unix listener shared by every loop; the last one to let go
// closes it and removes the socket file.
type sharedFD struct {
	fd   int
	path string
	refs atomic.Int32
}

// localFor is the local address of a conn accepted on ln: the bound
// address when it names an IP, else getsockname.
func (ln *listener) localFor(fd int) ipPort {
	if ln.specific {
		return ipPortOfAddr(ln.addr)
	}
	if p := ipPortFrom(netpoll.LocalAddrPort(fd)); p.kind != 0 {
		return p
	}
	return ipPortOfAddr(ln.addr)
}

func peerAddr(fd int, ln *listener) net.Addr {
	if a := netpoll.PeerAddr(fd); a != nil {
		return a
	}
	if ln != nil && !ln.tcp {
		return &net.UnixAddr{Net: "unix"}
	}
	return nil
}

func localAddr(fd int) net.Addr { return netpoll.LocalAddr(fd) }

// listenerDone closes the listener's fd once no accept op is in flight.
func (l *Loop) listenerDone(ln *listener) {
	if ln.done {
		return
	}
	ln.done = true
	ln.armed = false
	if ln.backoff != nil {
		ln.backoff.Stop()
	}
	ln.closeFD()
}

func (ln *listener) closeFD() {
	if ln.shared != nil {
		if ln.shared.refs.Add(-1) == 0 {
			unix.Close(ln.shared.fd)
			if ln.shared.path != "" {
				os.Remove(ln.shared.path)
			}
		}
		return
	}
	unix.Close(ln.fd)
}

func (l *Loop) listenersDone() bool {
	for _, ln := range l.listeners {
		if !ln.done {
			return false
		}
	}
	return true
}

// startDrain (Shutdown) stops accepting; closeIdle then closes idle conns.
func (l *Loop) startDrain() {
	l.draining = true
	for _, ln := range l.listeners {
		if !ln.closing {
			ln.closing = true
			l.b.unlisten(ln)
		}
	}
}

func (l *Loop) closeIdle() {
	for i := range l.conns {
		if c := l.conns[i].c; c != nil && c.idleForShutdown() {
			if !c.eofSeen {
				// A conn accepted in this iteration has not been read yet, and a paused
				// one does not read: input in its socket (a request sent before
				// Shutdown) makes it busy, not idle.
				if n, err := netpoll.Unread(int(c.fd)); err == nil && n > 0 {
					continue
				}
				// Checked after the socket: input the kernel read out of it (io_uring
				// task work, run at any syscall's exit without DEFER_TASKRUN) may
				// wait in a CQE not dispatched yet. The next wait reaps it without
				// sleeping; c is looked at again in that iteration.
				if l.b.unreaped() {
					continue
				}
			}
			l.closeGraceful(c)
		}
	}
}

const listenBacklog = 4096

// openListeners creates n SO_REUSEPORT TCP listeners on one address (the
// port of the first is reused when addr asks for port 0), or one unix
// listener. nonblock is set for the epoll backend; io_uring gets blocking
// sockets (older kernels answer EAGAIN to accept on nonblocking ones).
func openListeners(network, addr string, n int, nonblock bool) ([]int, net.Addr, *sharedFD, error) {
	typ := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	if nonblock {
		typ |= unix.SOCK_NONBLOCK
	}
	switch network {
	case "unix":
		ua := &net.UnixAddr{Name: addr, Net: "unix"}
		var rsa unix.RawSockaddrAny
		l, _, err := netpoll.PutAddr(&rsa, ua)
		if err != nil {
			return nil, nil, nil, err
		}
		fd, err := unix.Socket(unix.AF_UNIX, typ, 0)
		if err != nil {
			return nil, nil, nil, os.NewSyscallError("socket", err)
		}
		if err := bindListen(fd, &rsa, l, false); err != nil {
			unix.Close(fd)
			return nil, nil, nil, err
		}
		sh := &sharedFD{fd: fd}
		if addr != "" && addr[0] != '@' {
			sh.path = addr // abstract names ("@name") have no file to remove
		}
		sh.refs.Store(int32(n))
		fds := make([]int, n)
		for i := range fds {
			fds[i] = fd
		}
		return fds, ua, sh, nil
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, nil, nil, fmt.Errorf("reactor: unsupported network %q", network)
	}
	ta, err := net.ResolveTCPAddr(network, addr)
	if err != nil {
		return nil, nil, nil, err
	}
	family := unix.AF_INET6
	ip := ta.IP
	dual := false
	switch {
	case network == "tcp4" || ip.To4() != nil:
		family = unix.AF_INET
		if ip == nil {
			ta.IP = net.IPv4zero
		}
	case ip == nil || ip.IsUnspecified():
		dual = network == "tcp"
		ta.IP = net.IPv6unspecified
	}
	var fds []int
	fail := func(err error) ([]int, net.Addr, *sharedFD, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, nil, nil, err
	}
	var bound *net.TCPAddr
	for i := 0; i < n; i++ {
		fd, err := unix.Socket(family, typ, 0)
		if err == unix.EAFNOSUPPORT && dual && i == 0 {
			// No IPv6 in this kernel (booted with ipv6.disable=1): an address
			// with no host listens on IPv4 alone, as package net's does.
			family, dual, ta.IP = unix.AF_INET, false, net.IPv4zero
			fd, err = unix.Socket(family, typ, 0)
		}
		if err != nil {
			return fail(os.NewSyscallError("socket", err))
		}
		fds = append(fds, fd)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		// The first socket binds without SO_REUSEPORT, so that a port another
		// listener holds (with SO_REUSEPORT or not) fails with EADDRINUSE as
		// with net.Listen; it takes SO_REUSEPORT after bind, before listen, so
		// that this server's other loops can join it.
		if i > 0 {
			if err := setReusePort(fd); err != nil {
				return fail(err)
			}
		}
		// Accepted sockets are clones of the listener and inherit
		// TCP_NODELAY (Linux), which saves a setsockopt per conn.
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if family == unix.AF_INET6 {
			v6only := 1
			if dual {
				v6only = 0
			}
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
		}
		target := ta
		if bound != nil {
			target = &net.TCPAddr{IP: ta.IP, Port: bound.Port, Zone: ta.Zone}
		}
		var rsa unix.RawSockaddrAny
		l, _, err := netpoll.PutAddr(&rsa, target)
		if err != nil {
			return fail(err)
		}
		if family == unix.AF_INET6 && l == unix.SizeofSockaddrInet4 {
			return fail(errors.New("reactor: IPv4 address on an IPv6 socket"))
		}
		if err := bindListen(fd, &rsa, l, i == 0); err != nil {
			return fail(err)
		}
		if bound == nil {
			a, _ := netpoll.LocalAddr(fd).(*net.TCPAddr)
			if a == nil {
				return fail(errors.New("reactor: getsockname failed"))
			}
			bound = a
		}
	}
	return fds, bound, nil, nil
}

// bindListen binds fd and listens on it; with reuseAfterBind it sets
// SO_REUSEPORT between the two (see openListeners).
func bindListen(fd int, rsa *unix.RawSockaddrAny, l uint32, reuseAfterBind bool) error {
	if err := netpoll.Bind(fd, rsa, l); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if reuseAfterBind {
		if err := setReusePort(fd); err != nil {
			return err
		}
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}

func setReusePort(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_REUSEPORT", err)
	}
	return nil
}

// pinThread pins the calling (locked) thread to cpu.
func pinThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}

// acceptWarn logs an accept error that stops accepting for a while (EMFILE,
// ENFILE, ENOBUFS, ENOMEM), at most once a second per listener, with the
// count of those not logged: while fds are exhausted the retry every 10 ms
// would otherwise log a hundred lines a second.
func (l *Loop) acceptWarn(ln *listener, err error) {
	if ln.warned != 0 && l.mono-ln.warned < int64(time.Second) {
		ln.muted++
		return
	}
	l.logger().Warn("reactor: accept", "loop", l.idx, "err", err, "unlogged", ln.muted)
	ln.warned, ln.muted = max(l.mono, 1), 0
}
