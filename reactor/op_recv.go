//go:build linux

package reactor

import (
	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// Receive on io_uring. With buffer rings and multishot recv (6.0) one recv
// per conn stays armed and each CQE names a provided buffer, which goes back
// to the ring right after OnData (published before the next submit). With
// bundles (6.10) one CQE may span several buffers in ring order. Otherwise a
// single-shot recv reads into c.rbuf (kept on the conn until its CQE) and is
// re-armed after each completion.
//
// A CQE without F_MORE ends the multishot: -ENOBUFS (all buffers in use; the
// unread bytes stay in the socket), -ECANCELED (pause or close), 0 (EOF) or
// an error. It is re-armed when the conn still wants input, so no byte is
// lost.

func (b *uringBackend) resume(c *Conn) {
	if !c.recvArmed && c.wantRead() {
		b.armRecv(c)
	}
}

func (b *uringBackend) armRecv(c *Conn) {
	sqe := b.getSQE()
	if sqe == nil {
		b.l.finish(c, ring.ErrSQFull)
		return
	}
	switch {
	case b.bundle:
		sqe.PrepRecvBundle(c.fd, b.br.Group(), 0)
	case b.multiRecv:
		sqe.PrepRecvMultishot(c.fd, b.br.Group(), 0)
	default:
		if c.rbuf == nil {
			c.rbuf = make([]byte, b.l.s.cfg.readBufSize)
		}
		// c.rbuf stays referenced by c until this recv's CQE.
		sqe.PrepRecv(c.fd, c.rbuf, 0)
	}
	sqe.SetUserData(token(opRecv, c.slot, c.gen))
	c.recvArmed = true
	c.recvCancel = false
	c.inflight++
}

// pause cancels an armed multishot recv (its CQEs until the final one are
// still delivered and kept by the core). A single-shot recv is left to
// complete; its bytes are kept too.
func (b *uringBackend) pause(c *Conn) {
	if c.recvArmed && b.multiRecv && !c.recvCancel {
		b.cancel(c, opRecv)
		c.recvCancel = true
	}
}

func (b *uringBackend) cancel(c *Conn, op uint64) {
	if sqe := b.getSQE(); sqe != nil {
		sqe.PrepCancel(token(op, c.slot, c.gen), 0)
		sqe.SetUserData(token(opCancel, c.slot, c.gen))
	}
}

func (b *uringBackend) recvDone(c *Conn, res int32, flags uint32, cqe *ring.CQE) {
	l := b.l
	if flags&ring.CQEFMore == 0 {
		c.recvArmed = false
		c.inflight--
	}
	switch {
	case res > 0 && flags&ring.CQEFBuffer != 0:
		b.deliverBuffers(c, res, flags, cqe)
	case res > 0:
		l.input(c, c.rbuf[:res])
	case res == 0:
		if flags&ring.CQEFBuffer != 0 {
			b.recycleCQE(res, flags)
		}
		l.eof(c, nil)
		return
	default:
		switch err := ring.Errno(res); err {
		case unix.ENOBUFS:
			b.nENOBUFS++ // the unread bytes wait in the socket; re-armed below
		case unix.EAGAIN, unix.EINTR, unix.ECANCELED:
			// Re-armed below if the conn still wants input.
		default:
			l.eof(c, err)
			return
		}
	}
	if !c.recvArmed && c.wantRead() {
		b.armRecv(c)
	}
}

// deliverBuffers hands the bytes of a buffer-select CQE to the core and
// recycles the buffers right after.
func (b *uringBackend) deliverBuffers(c *Conn, res int32, flags uint32, cqe *ring.CQE) {
	l := b.l
	bid := uint16(flags >> ring.CQEBufferShift)
	if !b.bundle {
		data := b.br.Data(cqe)
		l.input(c, data)
		b.recycle(bid)
		return
	}
	// A bundle fills the ring entries after its first buffer, in ring
	// order. Multishot recv selects buffers and posts the CQE in one step,
	// so CQEs come in consumption order and the entries after pos are not
	// recycled yet; read all their ids before recycling any (a recycle
	// writes the mirror at brTail).
	ids := b.bundleIDs(b.brPos[bid], int(res))
	if len(ids) > 1 {
		b.nMultiBuffer++
	}
	left := int(res)
	size := int(b.br.Size())
	for _, id := range ids {
		n := min(left, size)
		if c.state == stateOpen { // input ignores closed conns; keep recycling
			l.input(c, b.br.Buf(id)[:n])
		}
		b.recycle(id)
		left -= n
	}
}

// bundleIDs returns (in b.scratch) the ids of the buffers holding res
// bytes from ring position pos on.
func (b *uringBackend) bundleIDs(pos uint16, res int) []uint16 {
	size := int(b.br.Size())
	k := (res + size - 1) / size
	if k > len(b.brOrder) {
		k = len(b.brOrder)
	}
	ids := b.scratch[:0]
	for i := 0; i < k; i++ {
		ids = append(ids, b.brOrder[(pos+uint16(i))&b.brMask])
	}
	b.scratch = ids
	return ids
}

// recycleCQE returns the buffers of a CQE nobody reads.
func (b *uringBackend) recycleCQE(res int32, flags uint32) {
	bid := uint16(flags >> ring.CQEBufferShift)
	if !b.bundle || res <= 0 {
		b.recycle(bid)
		return
	}
	for _, id := range b.bundleIDs(b.brPos[bid], int(res)) {
		b.recycle(id)
	}
}

func (b *uringBackend) recycle(id uint16) {
	if b.br.Recycle(id) != nil {
		return
	}
	b.brOrder[b.brTail&b.brMask] = id
	b.brPos[id] = b.brTail
	b.brTail++
	b.needPublish = true
}
