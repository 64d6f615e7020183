//go:build linux

package reactor

import (
	"time"

	"github.com/ringo-io/ringo/netpoll"
	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// Accept on io_uring: multishot (5.19) posts one CQE per connection with
// F_MORE until it ends; single-shot writes the peer address into ln.rsa
// (kept on the listener until the CQE) and is re-armed after each CQE.
// Sockets are accepted blocking (SOCK_CLOEXEC only): io_uring waits by
// itself, and older kernels answer EAGAIN on nonblocking ones.

func (b *uringBackend) listen(ln *listener) error {
	b.armAccept(ln)
	return nil
}

func (b *uringBackend) armAccept(ln *listener) {
	if ln.armed || ln.closing {
		return
	}
	sqe := b.getSQE()
	if sqe == nil {
		b.retryAccept(ln)
		return
	}
	if b.multiAccept {
		sqe.PrepAcceptMultishot(ln.fd, nil, nil, unix.SOCK_CLOEXEC)
	} else {
		ln.rsaLen = unix.SizeofSockaddrAny
		sqe.PrepAccept(ln.fd, &ln.rsa, &ln.rsaLen, unix.SOCK_CLOEXEC)
	}
	sqe.SetUserData(token(opAccept, uint32(ln.idx), 0))
	ln.armed = true
	ln.inflight++
}

func (b *uringBackend) acceptDone(ln *listener, res int32, flags uint32) {
	l := b.l
	if flags&ring.CQEFMore == 0 {
		ln.armed = false
		ln.inflight--
	}
	if res >= 0 {
		fd := int(res)
		if ln.closing {
			unix.Close(fd) // a cancelled accept may still hand over a socket
		} else {
			var peer ipPort // multishot accept: none, getpeername fills it
			if !b.multiAccept {
				peer = ipPortFrom(netpoll.AddrPort(&ln.rsa))
			}
			l.accepted(ln, fd, peer)
		}
	}
	if ln.closing {
		if ln.inflight == 0 {
			l.listenerDone(ln)
		}
		return
	}
	if ln.armed {
		return
	}
	switch ring.Errno(res) {
	case nil, unix.ECONNABORTED, unix.EAGAIN, unix.EINTR, unix.ECANCELED:
		b.armAccept(ln)
	default:
		// EMFILE, ENFILE, ENOBUFS, ENOMEM: retry on a timer, not in a loop.
		l.acceptWarn(ln, ring.Errno(res))
		b.retryAccept(ln)
	}
}

func (b *uringBackend) retryAccept(ln *listener) {
	if ln.backoff != nil && ln.backoff.idx >= 0 {
		return
	}
	ln.backoff = b.l.AfterFunc(10*time.Millisecond, func() { b.armAccept(ln) })
}

func (b *uringBackend) unlisten(ln *listener) {
	ln.closing = true
	if ln.backoff != nil {
		ln.backoff.Stop()
	}
	if ln.inflight == 0 {
		b.l.listenerDone(ln)
		return
	}
	if sqe := b.getSQE(); sqe != nil {
		sqe.PrepCancel(token(opAccept, uint32(ln.idx), 0), 0)
		sqe.SetUserData(token(opCancel, 0, 0))
	}
}
