//go:build linux

package reactor

import (
	"github.com/ringo-io/ringo/netpoll"
	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// Receive on io_uring. With buffer rings and multishot recv (6.0) one recv
// per conn stays armed and each CQE names a provided buffer, which goes back
// to the ring right after OnData (published before the next submit). With
// bundles (6.10) one CQE may span several buffers in ring order. Otherwise
// (no buffer ring) a POLL_ADD waits for readability, then a single-shot recv
// reads into a buffer from the loop's pool (c.bufs.rbuf, kept there until the
// recv's CQE): idle conns hold no buffer.
//
// A CQE without F_MORE ends the multishot: -ENOBUFS (all buffers in use; the
// unread bytes stay in the socket), -ECANCELED (pause or close), 0 (EOF) or
// an error. It is re-armed when the conn still wants input, so no byte is
// lost.
//
// Exhaustion. A recv re-armed at once after -ENOBUFS fails again at once
// while the ring is still dry (its bytes are in the socket, so the kernel
// tries it inline), and with many busy conns the loop would spin on
// -ENOBUFS completions. Instead a starved conn waits in a FIFO (b.starved)
// and is re-armed only when buffers are free again: before each submit,
// oldest first, at most one starved conn per b.starveDiv buffers the kernel
// can still pick (b.avail), and at least one. A re-armed conn with bytes
// waiting takes at least one buffer or ends with at most one more -ENOBUFS;
// the oldest starved conns go first, so none is starved for ever. But a
// multishot can also end with -ENOBUFS with nothing left in its socket (its
// retry selects a buffer before it reads; seen in TestRandomizedEcho, where
// a re-armed conn posted nothing and the loop slept with another conn
// starved and all buffers free), so a wait that leaves conns starved sleeps at most
// starvedWait (uringBackend.wait), else the rest of the FIFO could wait for
// an event that never comes.

// mainRecvMax caps each CQE of a multishot recv on the main buffer ring
// where the kernel takes a cap (CapRecvLimit, 6.17). Input completed after a
// conn's reading paused is kept in memory until it resumes, and without the
// cap one bundle spans as much of the ring as the socket holds: a slow
// reader's echo conn kept 2.3-4.0 MB (default 4 MiB ring), 131-155 KB with
// it (TestSlowReaderWaterMarks). Conns that read a quarter of this at once
// move to bulk reads (op_recv_bulk.go), which read only while the conn wants
// input. With buffers larger
// than the cap (WithBufferRing), the cap is one buffer: a CQE takes a whole
// buffer, so a smaller one would leave most of it unused.
const mainRecvMax = 64 << 10

func (b *uringBackend) resume(c *Conn) {
	if !c.recvArmed && !c.recvStarved && c.wantRead() {
		if b.recvLimit > 0 && c.recvBefore {
			// armRecv may read a reset at once (peerFailed): input and OnData, or
			// OnClose. resume runs inside the caller of ResumeReading, often a
			// handler callback of c itself, which must not see c's OnData or
			// OnClose nested in it: armed at the next wait, before its submit.
			// (A conn paused and resumed again before then is queued again, unless
			// it is the last one queued; armResumed arms it once.)
			if n := len(b.resumed); n == 0 || b.resumed[n-1] != c {
				b.resumed = append(b.resumed, c)
			}
			return
		}
		b.armRecv(c)
	}
}

// armResumed arms the recvs resume deferred (from wait, before the submit,
// outside any handler callback).
func (b *uringBackend) armResumed() {
	cs := b.resumed
	b.resumed = nil
	for i, c := range cs {
		cs[i] = nil
		if !c.recvArmed && !c.recvStarved && c.wantRead() {
			b.armRecv(c)
		}
	}
	if b.resumed == nil {
		b.resumed = cs[:0]
	}
}

// starve queues c (its multishot recv ended with -ENOBUFS) to be re-armed
// when buffers are free (rearmStarved).
func (b *uringBackend) starve(c *Conn) {
	if c.recvStarved {
		return
	}
	c.recvStarved = true
	b.starved = append(b.starved, c)
}

// rearmStarved re-arms the oldest starved conns before the next submit, at
// most one per b.starveDiv buffers the kernel may still pick (b.avail). b.avail
// counts buffers published minus those the CQEs reaped so far named: the
// kernel selects a buffer and posts its CQE in one step, so after a drain it
// is exact. At least one conn is re-armed per wait all the same, so a count
// that drifted low could not stall the starved conns (a re-arm into a dry
// ring costs one -ENOBUFS CQE, not a spin).
func (b *uringBackend) rearmStarved() {
	// Adapt the share: a re-armed conn may take many buffers (its socket
	// holds more than one), and the one that empties the ring ends with
	// -ENOBUFS anyway. When more than half of the conns re-armed last time
	// came back starved, re-arm half as many per free buffer; when none
	// did, twice as many (b.starveDiv in [1, buffers]).
	if r := b.rearmed; r > 0 {
		switch e := b.nENOBUFS - b.enobufsMark; {
		case 2*e > r && b.starveDiv < len(b.brOrder):
			b.starveDiv *= 2
		case e == 0 && b.starveDiv > 1:
			b.starveDiv /= 2
		}
	}
	budget := max((b.avail+b.starveDiv-1)/b.starveDiv, 1)
	n := 0
	i := b.starvedHead
	for ; i < len(b.starved) && budget > 0; i++ {
		c := b.starved[i]
		b.starved[i] = nil
		c.recvStarved = false
		if c.recvArmed || !c.wantRead() {
			continue // closed, paused (resume re-arms) or already armed
		}
		b.armRecv(c)
		budget--
		n++
	}
	b.starvedHead = i
	b.rearmed, b.enobufsMark = n, b.nENOBUFS
	if i == len(b.starved) {
		b.starved, b.starvedHead = b.starved[:0], 0
	} else if i > 1024 && i > len(b.starved)/2 {
		n := copy(b.starved, b.starved[i:])
		clear(b.starved[n:])
		b.starved, b.starvedHead = b.starved[:n], 0
	}
}

func (b *uringBackend) armRecv(c *Conn) {
	if b.recvLimit > 0 && c.recvBefore && !c.bulk && b.peerFailed(c) {
		return // read to the error at once (peerFailed)
	}
	c.recvBefore = true
	sqe := b.getSQE()
	if sqe == nil {
		b.l.finish(c, ring.ErrSQFull)
		return
	}
	switch {
	case c.bulk:
		armBulk(c, sqe)
	case b.bundle:
		sqe.PrepRecvBundle(int(c.fd), b.br.Group(), 0)
		if b.recvLimit > 0 {
			sqe.LimitRecv(b.recvLimit)
		}
	case b.multiRecv:
		sqe.PrepRecvMultishot(int(c.fd), b.br.Group(), 0)
		if b.recvLimit > 0 {
			sqe.LimitRecv(b.recvLimit)
		}
	default:
		// Single-shot: wait for readability first, so an idle conn holds
		// no buffer (armSingle).
		c.recvPoll = true
		sqe.PrepPollAdd(int(c.fd), unix.POLLIN)
	}
	b.target(c, sqe)
	sqe.SetUserData(token(opRecv, c.slot, c.gen))
	c.recvArmed = true
	c.recvCancel = false
	c.inflight++
}

// armRecvBuf arms a single-shot recv into a buffer from the loop's pool
// (kept in c.bufs.rbuf, referenced there until this recv's CQE).
func (b *uringBackend) armRecvBuf(c *Conn) {
	sqe := b.getSQE()
	if sqe == nil {
		b.l.finish(c, ring.ErrSQFull)
		return
	}
	q := b.l.bufsOf(c)
	if q.rbuf == nil {
		q.rbuf = b.getRbuf()
	}
	sqe.PrepRecv(int(c.fd), q.rbuf, 0)
	b.target(c, sqe)
	sqe.SetUserData(token(opRecv, c.slot, c.gen))
	c.recvPoll = false
	c.recvArmed = true
	c.recvCancel = false
	c.inflight++
}

// Single-shot recv buffers (no buffer ring), pooled per loop: a conn holds
// one only while a recv is in flight.
func (b *uringBackend) getRbuf() []byte {
	if n := len(b.rbufs); n > 0 {
		buf := b.rbufs[n-1]
		b.rbufs[n-1] = nil
		b.rbufs = b.rbufs[:n-1]
		return buf
	}
	return make([]byte, b.l.s.cfg.readBufSize)
}

// putRbuf gives c's single-shot recv buffer (if any) back to the pool.
func (b *uringBackend) putRbuf(c *Conn) {
	q := c.bufs
	if q == nil || q.rbuf == nil {
		return
	}
	if len(b.rbufs) < maxPooled {
		b.rbufs = append(b.rbufs, q.rbuf)
	}
	q.rbuf = nil
	b.l.trimBufs(c)
}

// singleDone completes a single-shot poll or recv (no buffer ring): a
// readable poll arms the recv; a recv that filled its buffer arms the next
// recv at once (more is likely queued), otherwise the buffer goes back to
// the pool and a poll waits for the next bytes.
func (b *uringBackend) singleDone(c *Conn, res int32) {
	l := b.l
	if c.recvPoll {
		c.recvPoll = false
		if res < 0 {
			switch err := ring.Errno(res); err {
			case unix.EAGAIN, unix.EINTR, unix.ECANCELED:
			default:
				l.eof(c, err)
				return
			}
		}
		if c.wantRead() {
			if res >= 0 {
				b.armRecvBuf(c) // readable (or EOF or an error: the recv says)
			} else {
				b.armRecv(c)
			}
		}
		return
	}
	// A recv was armed: its buffer is c.bufs.rbuf (which keeps c.bufs).
	// After input, re-read c.bufs: the handler may have closed c, and a
	// release frees it.
	full := false
	switch {
	case res > 0:
		rbuf := c.bufs.rbuf
		full = int(res) == len(rbuf)
		l.input(c, rbuf[:res])
	case res == 0:
		b.putRbuf(c)
		l.eof(c, nil)
		return
	default:
		switch err := ring.Errno(res); err {
		case unix.EAGAIN, unix.EINTR, unix.ECANCELED:
		default:
			b.putRbuf(c)
			l.eof(c, err)
			return
		}
	}
	if full && !c.recvArmed && c.wantRead() {
		b.armRecvBuf(c) // keeps c.bufs.rbuf
		return
	}
	b.putRbuf(c)
	if !c.recvArmed && c.wantRead() {
		b.armRecv(c)
	}
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
	if !b.multiRecv {
		b.singleDone(c, res)
		return
	}
	if c.recvPoll {
		b.bulkDone(c, res, flags)
		return
	}
	switch {
	case res > 0 && flags&ring.CQEFBuffer != 0:
		b.deliverBuffers(c, res, flags, cqe)
	case res == 0:
		// EOF. It ends a multishot recv (no F_MORE); should a kernel keep
		// one armed anyway, cancel it so its final CQE comes.
		if flags&ring.CQEFBuffer != 0 {
			b.recycleCQE(res, flags)
		}
		if c.recvArmed && !c.recvCancel {
			b.cancel(c, opRecv)
			c.recvCancel = true
		}
		l.eof(c, nil)
		return
	default:
		switch err := ring.Errno(res); err {
		case unix.ENOBUFS:
			if c.bulk {
				break // moving to bulk reads, which need no buffer: arm at once
			}
			// The unread bytes wait in the socket; re-armed when buffers
			// are free (see Exhaustion above), not at once.
			b.nENOBUFS++
			if !c.recvArmed && c.wantRead() {
				b.starve(c)
			}
			return
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
	if !c.bulk && (res >= bulkMark || !b.bundle && flags&ring.CQEFSockNonempty != 0 && uint32(res) == b.br.Size()) {
		// Without bundles a CQE holds one buffer: one that filled it with more
		// queued is a large read too. (The kernel requeues a multishot recv
		// after a run of such reads, and a reset that came meanwhile was never
		// reported: TestResetDuringUploadUnderMasks.)
		b.moveBulk(c)
	}
	bid := uint16(flags >> ring.CQEBufferShift)
	if !b.bundle {
		b.avail--
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
	b.avail -= len(ids)
	if len(ids) > 1 {
		b.nMultiBuffer++
	}
	// Runs of consecutive ids are adjacent in the slab and reach the
	// handler as one slice: one OnData (and one output append for an echo)
	// per run instead of one per buffer. topUp keeps freed runs in order,
	// but with many busy conns the ring's order is mixed, and a bundle of
	// several runs that fits the gather buffer is copied into it and
	// delivered whole (gatherMax).
	b.deliverSpans(c, b.br, ids, 0, int(res))
	for _, id := range ids {
		b.recycle(id)
	}
}

// deliverSpans hands the res bytes a CQE left in the buffers ids of br
// (in that order, the first from offset off, the others from their start)
// to c: runs of consecutive ids are adjacent in the slab and reach OnData as
// one slice each, and several runs that fit gatherMax are copied into the
// gather buffer and delivered as one.
func (b *uringBackend) deliverSpans(c *Conn, br *ring.BufRing, ids []uint16, off, res int) {
	l := b.l
	size := int(br.Size())
	left := res
	if len(ids) > 1 && left <= gatherMax && c.state == stateOpen && !oneRun(ids) {
		g := b.gatherBuf()[:0]
		o := off
		for _, id := range ids {
			n := min(left, size-o)
			g = append(g, br.Span(id, o+n)[o:]...)
			left -= n
			o = 0
		}
		b.nGathered++
		l.input(c, g)
	}
	for i := 0; i < len(ids) && left > 0; {
		j := i + 1
		for j < len(ids) && ids[j] == ids[j-1]+1 {
			j++
		}
		n := min(left, (j-i)*size-off)
		if c.state == stateOpen { // input ignores closed conns; keep recycling
			l.input(c, br.Span(ids[i], off+n)[off:])
		}
		left -= n
		off = 0
		i = j
	}
}

// gatherMax is the largest bundle of several runs that deliverBuffers
// copies into one slice. Why: a 64 KiB message in four scattered 16 KiB
// buffers otherwise reached OnData as four slices, so an echo queued four
// copies in as many output buffers (cold memory, read again by the send)
// instead of one Write that goes out at once (directWriteMin) from a buffer
// that stays hot, the same one for every conn, as the epoll backend's read
// buffer does. perf, 64 KiB echo at 64 conns: one recv CQE per message, but
// 2.8 OnData calls per message. The copy is of bytes just written by the
// kernel, into memory reused every time.
const gatherMax = 64 << 10

func (b *uringBackend) gatherBuf() []byte {
	if b.gather == nil {
		b.gather = make([]byte, 0, gatherMax)
	}
	return b.gather
}

// oneRun reports whether ids are consecutive (one slice of the slab).
func oneRun(ids []uint16) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			return false
		}
	}
	return true
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

// recycleCQE returns the buffers of a CQE of c's recv that nobody reads.
func (b *uringBackend) recycleCQE(res int32, flags uint32) {
	bid := uint16(flags >> ring.CQEBufferShift)
	if !b.bundle || res <= 0 {
		b.avail--
		b.recycle(bid)
		return
	}
	ids := b.bundleIDs(b.brPos[bid], int(res))
	b.avail -= len(ids)
	for _, id := range ids {
		b.recycle(id)
	}
}

// recycle takes back a buffer the loop is done with; topUp returns it to
// the ring.
func (b *uringBackend) recycle(id uint16) {
	b.free = append(b.free, id)
}

// Ring depth. The kernel takes buffers in ring order, so a ring holding all
// of them cycles through the whole slab (4 MiB by default) and every receive
// writes cold memory (perf, 64 KiB echo: the kernel's receive copy took 14%
// of the server's CPU, against 9% for gnet, which reads into one reused
// buffer). topUp, before each
// submit, tops the ring up to twice the decaying peak of what one iteration
// consumed (at least 64 buffers), taking the most recently freed buffers
// first. An -ENOBUFS since the last top-up refills the ring completely (the
// peak then decays by an eighth per iteration), so a burst finds the whole
// pool after at most one starved receive per conn.
func (b *uringBackend) topUp() {
	n := len(b.brOrder)
	if used := b.lastAvail - b.avail; b.nENOBUFS != b.topMark {
		b.topMark = b.nENOBUFS
		b.peak = n
	} else {
		b.peak = max(used, b.peak-b.peak/8)
	}
	target := min(max(2*b.peak+16, 64), n)
	// The top of the stack goes back in the order it was freed, which keeps
	// a bundle's run of consecutive ids consecutive in the ring.
	m := min(max(target-b.avail, 0), len(b.free))
	for _, id := range b.free[len(b.free)-m:] {
		if b.br.Recycle(id) != nil {
			break // closed
		}
		b.brOrder[b.brTail&b.brMask] = id
		b.brPos[id] = b.brTail
		b.brTail++
		b.avail++
		b.needPublish = true
	}
	b.free = b.free[:len(b.free)-m]
	b.lastAvail = b.avail
}

// peerFailed handles a conn whose peer reset it (its TCP state is CLOSE)
// by the time its recv is to be armed again: reading was paused, starved
// or moving between rings when the reset came. A capped multishot recv
// (CapRecvLimit) armed then reads the bytes still queued and then waits
// for a wake-up that already came: it never reports the reset, and the conn
// stays open, OnClose not called, until the server closes. Instead the
// queued bytes are read here, then the error, as on epoll. It returns false
// when the peer has not reset the conn (arm the recv).
func (b *uringBackend) peerFailed(c *Conn) bool {
	st, err := unix.GetsockoptByte(int(c.fd), unix.IPPROTO_TCP, unix.TCP_INFO) // tcpi_state
	if err != nil || st != tcpClose {
		return false
	}
	b.cbInWait = true // OnData or OnClose runs below (see wait)
	l := b.l
	buf := make([]byte, mainRecvMax) // rare: not a shared buffer (OnData may resume another conn)
	for {
		n, err := netpoll.Recv(int(c.fd), buf)
		switch {
		case err == unix.EAGAIN:
			return false // nothing queued and no error: arm as usual
		case err != nil:
			l.eof(c, err)
			return true
		case n == 0:
			l.eof(c, nil)
			return true
		}
		l.input(c, buf[:n])
		if !c.wantRead() {
			return true // paused again or closed: the next resume comes back here
		}
	}
}

const tcpClose = 7 // TCP_CLOSE
