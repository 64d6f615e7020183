//go:build linux

package reactor

import (
	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// Send on io_uring: one SEND of c.sending() (everything queued when the
// iteration flushed), MSG_NOSIGNAL so a vanished peer gives EPIPE rather
// than SIGPIPE. c.sending() stays referenced by c until the CQE; the core
// queues new writes into a different buffer meanwhile. A short send is
// continued by the core with the rest. Connect: c.ext.rare.dial.rsa stays on the conn
// until the CONNECT's CQE.

// maxSend bounds one SEND (the kernel sends at most about 2 GiB per call anyway).
const maxSend = 1 << 30

func (b *uringBackend) send(c *Conn) {
	sqe := b.getSQE()
	if sqe == nil {
		b.l.sent(c, 0, ring.ErrSQFull)
		return
	}
	buf := c.sending()
	if len(buf) > maxSend {
		buf = buf[:maxSend] // the SQE's length is 32 bits; the core sends the rest next
	}
	sqe.PrepSend(int(c.fd), buf, unix.MSG_NOSIGNAL)
	b.target(c, sqe)
	sqe.SetUserData(token(opSend, c.slot, c.gen))
	c.inflight++
}

func (b *uringBackend) sendDone(c *Conn, res int32) {
	c.inflight--
	if res >= 0 {
		b.l.sent(c, int(res), nil)
		return
	}
	switch err := ring.Errno(res); err {
	case unix.EAGAIN, unix.EINTR:
		b.l.sent(c, 0, nil) // nothing sent: the core sends again
	default:
		b.l.sent(c, 0, err)
	}
}

func (b *uringBackend) connect(c *Conn) {
	sqe := b.getSQE()
	if sqe == nil {
		b.l.connected(c, ring.ErrSQFull)
		return
	}
	sqe.PrepConnect(int(c.fd), &c.ext.rare.dial.rsa, c.ext.rare.dial.rsaLen)
	b.target(c, sqe)
	sqe.SetUserData(token(opConnect, c.slot, c.gen))
	c.inflight++
	c.connArmed = true
}
