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
// multishot recv is cancelled and, after its final CQE, a multishot
// POLL_ADD (5.13) reports input, which recv(2) reads into the loop's one
// bulk buffer (bulkDone), as epoll does. A syscall per read of up to
// 64 KiB is small next to copying the bytes. A conn whose reads stay below
// smallMark for smallRunMax reads in a row goes back to the multishot recv.
//
// (Sessions 5 to 16 used a second buffer ring of 64 KiB buffers consumed
// incrementally instead, on 6.17+ kernels only; see ARCHITECTURE.)
//
// Edges. The multishot poll is edge-triggered (the kernel's default for
// it): a CQE comes for each wake-up of the socket, none for bytes already
// there. So each CQE is read until the socket is empty (a short read or
// EAGAIN). Where reading stops earlier, the poll is cancelled, and its
// re-arm checks readiness at once and posts a CQE if input waits: after
// bulkBudget full reads (so one fast sender does not hold the loop), and
// when reading pauses (pause cancels it like any recv).
//
// Ordering. The cancelled multishot recv's CQEs, up to its final one, are
// delivered before the poll is armed; a conn leaving bulk reads cancels the
// poll and reads nothing more until the recv is armed after its final CQE.
//
// Bounds. A conn is read only while it wants input (c.wantRead), each read
// at most len(bulkBuf): a conn that pauses is not read further, so it keeps
// at most what its last read brought.
//
// Reset. A poll on a reset socket completes (POLLERR) and recv(2) returns
// the error, so a bulk conn needs no peerFailed check when it is re-armed.
const (
	bulkMark    = 16 << 10
	smallMark   = 4 << 10
	smallRunMax = 64
	bulkBufSize = 64 << 10
	bulkBudget  = 4
)

// bulkEvents are the events the poll waits for. The end of input is asked
// for explicitly (io_uring filters the wake-ups by them), and a CQE that
// reports it is read until EOF or EAGAIN: the FIN (or reset) may have come
// with the last bytes, in the same wake-up, so no CQE would follow a read
// that stopped at them.
//
// A read also stops short with bytes still queued at TCP's urgent mark
// (POLLPRI, asked for too) and, on a unix socket (c.peer.kind 0), after a
// message that carried descriptors (SCM_RIGHTS): such CQEs are read until
// EAGAIN as well, as epoll's epDrain does.
const bulkEvents = unix.POLLIN | unix.POLLRDHUP | unix.POLLHUP | unix.POLLERR | unix.POLLPRI

// armBulk prepares c's readiness wait (armRecv; sqe is c's recv SQE).
func armBulk(c *Conn, sqe *ring.SQE) {
	c.recvPoll = true
	sqe.PrepPollMultishot(int(c.fd), bulkEvents)
}

// bulkDone completes a CQE of a bulk conn's poll: it reads what is
// queued, re-arms the poll once it ended (or goes back to the multishot
// recv).
func (b *uringBackend) bulkDone(c *Conn, res int32, flags uint32) {
	if flags&ring.CQEFMore == 0 {
		c.recvPoll = false
	}
	l := b.l
	if res < 0 {
		switch err := ring.Errno(res); err {
		case unix.EAGAIN, unix.EINTR, unix.ECANCELED:
			// cancelled (pause, budget, move, close): re-armed below if it still wants input
		default:
			l.eof(c, err)
			return
		}
	} else if c.bulk && !c.recvCancel {
		drain := uint32(res)&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR|unix.POLLPRI) != 0 || c.peer.kind == 0
		switch b.readBulk(c, drain) {
		case bulkEnded:
			return // EOF or error: the conn is closing, or its reading ended
		case bulkMore:
			b.stopPoll(c) // its re-arm finds the input waiting
		}
	}
	if !c.recvArmed && c.wantRead() {
		b.armRecv(c)
	}
}

const (
	bulkDrained = iota // the socket is empty, or c stopped wanting input
	bulkMore           // the budget is spent: input may wait
	bulkEnded          // EOF or an error
)

// readBulk reads c into the bulk buffer and delivers it while c wants
// input: until the socket is empty, at most bulkBudget reads. A short read
// empties it, unless the peer's end was reported (ending): then only EOF,
// an error or EAGAIN do.
func (b *uringBackend) readBulk(c *Conn, ending bool) int {
	l := b.l
	if b.bulkBuf == nil {
		b.bulkBuf = make([]byte, bulkBufSize)
	}
	buf := b.bulkBuf
	for range bulkBudget {
		if !c.wantRead() || !c.bulk {
			return bulkDrained
		}
		n, err := netpoll.Recv(int(c.fd), buf)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			return bulkDrained
		case err != nil:
			b.stopPoll(c)
			l.eof(c, err)
			return bulkEnded
		case n == 0:
			b.stopPoll(c) // ReadEOFHandler conns stay open: no more wake-ups wanted
			l.eof(c, nil)
			return bulkEnded
		}
		b.nBulk++
		if n < smallMark {
			if c.smallRun++; c.smallRun >= smallRunMax {
				// Back to the multishot recv, armed after the poll's final
				// CQE; nothing is read meanwhile (the check above).
				c.bulk, c.smallRun = false, 0
				b.nMoves++
				b.stopPoll(c)
			}
		} else {
			c.smallRun = 0
		}
		// buf is the loop's: the core copies what the handler keeps before
		// input returns, and nothing else reads into buf meanwhile (bulk
		// reads happen only here, from a CQE's dispatch).
		l.input(c, buf[:n])
		if n < len(buf) && !ending {
			return bulkDrained // the socket was emptied; the next wake-up posts a CQE
		}
	}
	return bulkMore
}

// stopPoll cancels c's armed poll (recvDone re-arms after its final CQE if
// c still wants input).
func (b *uringBackend) stopPoll(c *Conn) {
	if c.recvArmed && !c.recvCancel {
		b.cancel(c, opRecv)
		c.recvCancel = true
	}
}

// moveBulk switches c to bulk reads: its multishot recv is cancelled and
// recvDone arms the poll after the final CQE.
func (b *uringBackend) moveBulk(c *Conn) {
	c.bulk, c.smallRun = true, 0
	b.nMoves++
	b.stopPoll(c)
}
