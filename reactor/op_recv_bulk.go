//go:build linux

package reactor

import (
	"github.com/ringo-io/ringo/netpoll"
	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// Bulk reads: large messages on io_uring.
//
// The provided buffers suit what most conns read, but a 64 KiB message
// lands in four 16 KiB buffers that sit at scattered places in the slab
// once many conns recycle buffers in mixed order, so it was copied once
// more to reach OnData whole (gatherMax), and the kernel's receive copy
// wrote memory gone cold since the buffer's last use. The epoll backend
// reads every message into one buffer that stays hot. A conn whose read
// brings bulkMark bytes or more therefore switches to readiness: its
// multishot recv is cancelled and, after its final CQE, a single-shot
// POLL_ADD waits for input, then recv(2) reads into the loop's one bulk
// buffer (bulkDone), as epoll does. A syscall per read of up to 64 KiB is
// small next to copying the bytes. A conn whose reads stay below smallMark
// for smallRunMax reads in a row goes back to the multishot recv.
//
// (Sessions 5 to 16 used a second buffer ring of 64 KiB buffers consumed
// incrementally instead, on 6.17+ kernels only: paired against it, 64 KiB
// echo costs 0.85x at 1,000 conns and 0.87x at 64.)
//
// Ordering. The cancelled multishot's CQEs, up to its final one, are
// delivered before the poll is armed, and a conn that leaves bulk mode
// does so between reads, with no op in flight: its bytes stay in order.
//
// Bounds. A conn is read only while it wants input (c.wantRead), at most
// bulkBudget reads per readiness, each at most len(bulkBuf): a conn that
// pauses is not read further, so it keeps at most what its last read
// brought. A single-shot poll armed while input is waiting completes at
// once, so a conn left with input (budget spent, or resumed) is read in
// the next iteration.
//
// Reset. A poll on a reset socket completes (POLLERR) and recv(2) returns
// the error, so a bulk conn needs no peerFailed check when it is re-armed.
const (
	bulkMark    = 32 << 10
	smallMark   = 4 << 10
	smallRunMax = 64
	bulkBufSize = 64 << 10
	bulkBudget  = 4
)

// armBulk prepares c's readiness wait (armRecv; sqe is c's recv SQE).
func armBulk(c *Conn, sqe *ring.SQE) {
	c.recvPoll = true
	sqe.PrepPollAdd(int(c.fd), unix.POLLIN)
}

// bulkDone completes a bulk conn's poll: it reads what is queued, then
// waits for readiness again (or goes back to the multishot recv).
func (b *uringBackend) bulkDone(c *Conn, res int32) {
	c.recvPoll = false
	l := b.l
	if res < 0 {
		switch err := ring.Errno(res); err {
		case unix.EAGAIN, unix.EINTR, unix.ECANCELED:
			// cancelled (pause, close): re-armed below if it still wants input
		default:
			l.eof(c, err)
			return
		}
	} else if !b.readBulk(c) {
		return // EOF or error: the conn is closing
	}
	if !c.recvArmed && c.wantRead() {
		b.armRecv(c)
	}
}

// readBulk reads c into the bulk buffer and delivers it, at most
// bulkBudget times, while c wants input; false once c hit EOF or an error.
func (b *uringBackend) readBulk(c *Conn) bool {
	l := b.l
	if b.bulkBuf == nil {
		b.bulkBuf = make([]byte, bulkBufSize)
	}
	buf := b.bulkBuf
	for i := 0; i < bulkBudget && c.wantRead(); i++ {
		n, err := netpoll.Recv(int(c.fd), buf)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			return true
		case err != nil:
			l.eof(c, err)
			return false
		case n == 0:
			l.eof(c, nil)
			return false
		}
		b.nBulk++
		if n < smallMark {
			if c.smallRun++; c.smallRun >= smallRunMax {
				c.bulk, c.smallRun = false, 0 // the next arm is a multishot recv
				b.nMoves++
			}
		} else {
			c.smallRun = 0
		}
		// buf is the loop's: the core copies what the handler keeps before
		// input returns, and nothing else reads into buf meanwhile (bulk
		// reads happen only here, from a CQE's dispatch).
		l.input(c, buf[:n])
		if n < len(buf) {
			return true // the socket was emptied; the poll waits for more
		}
	}
	return true
}

// moveBulk switches c to bulk reads: its multishot recv is cancelled and
// recvDone arms the poll after the final CQE.
func (b *uringBackend) moveBulk(c *Conn) {
	c.bulk, c.smallRun = true, 0
	b.nMoves++
	if c.recvArmed && !c.recvCancel {
		b.cancel(c, opRecv)
		c.recvCancel = true
	}
}
