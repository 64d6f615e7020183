//go:build linux

package reactor

import (
	"errors"
	"time"

	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// uringBackend drives one io_uring (contract: backend.go). Op files:
// op_accept.go, op_recv.go, op_send.go, op_close.go hold the SQE preparation
// and completion step of each op.
//
// Op life cycle: an op is prepared (SQE written, c.inflight++), submitted at
// the next wait, and completed by its final CQE (for multishot ops the one
// without F_MORE; c.inflight--). A cancelled op keeps its memory (c.bufs.rbuf,
// c.bufs.sendBuf, c.ext.rare.dial, ln.rsa, the wake buffer) referenced until that final
// CQE; only then may a shut-down conn be released (fd closed, slot reused).
// user_data is a token (backend.go), never a Go pointer.
type uringBackend struct {
	l     *Loop
	r     *ring.Ring
	feats ring.Features
	cqes  []*ring.CQE
	batch []ring.CQE // the CQEs being dispatched, copied out of the CQ
	rest  []ring.CQE // the part of a batch not dispatched yet (see dispatch)

	cqPeak      int // the most CQEs one drain found since the loop last slept (WithBatchWait)
	nBatchWaits int // waits for a batch (tests)

	files uint32   // registered file slots (conns with a smaller slot use theirs)
	fdArg [1]int32 // UpdateFiles argument

	// Receive strategy, from the features.
	multiAccept bool   // multishot accept (5.19)
	batchWait   bool   // WithBatchWait can apply (min-wait with DEFER_TASKRUN)
	multiRecv   bool   // multishot recv into the buffer ring (6.0)
	bundle      bool   // recv bundles (6.10)
	recvLimit   uint32 // bytes each multishot recv CQE on the main ring is capped at (0: no cap)

	// Provided buffers (multiRecv only). The kernel consumes ring entries in
	// order; brOrder mirrors which buffer id sits at each ring position so a
	// bundle (which spans the entries after its first buffer) can be walked.
	br          *ring.BufRing
	brOrder     []uint16 // ring position & mask -> buffer id
	brPos       []uint16 // buffer id -> ring position
	brTail      uint16   // next ring position Recycle fills
	brMask      uint16
	needPublish bool
	scratch     []uint16 // bundleIDs' result, reused
	gather      []byte   // a bundle of several runs, copied whole (deliverBuffers); made on first use
	bulkBuf     []byte   // what bulk reads read into (op_recv_bulk.go); made on first use
	// avail counts the buffers published (or staged) and not yet named
	// by a reaped CQE: an upper bound of what the kernel may still pick.
	avail int
	// Buffers given back wait in free (a stack: the most recently used,
	// still in cache, on top) and go back to the ring only as far as the
	// ring needs them (topUp): it holds about twice what one iteration
	// consumes, not every buffer, so receives land in warm memory.
	free      []uint16
	peak      int // decaying maximum of the buffers one iteration consumed
	lastAvail int // avail after the last topUp
	topMark   int // nENOBUFS at the last topUp

	// Conns whose multishot recv ended with -ENOBUFS, oldest first from
	// starvedHead, waiting for free buffers (op_recv.go, Exhaustion).
	starved     []*Conn
	starvedHead int
	starveDiv   int     // re-arm one starved conn per starveDiv free buffers
	resumed     []*Conn // conns whose recv resume deferred to the next wait (armResumed)
	cbInWait    bool    // peerFailed ran callbacks; in wait before its enter, d is taken again
	rearmed     int     // conns re-armed by the last rearmStarved
	enobufsMark int     // nENOBUFS at that time

	rbufs [][]byte // single-shot recv buffers (no buffer ring), free

	// Counters (loop only), read by tests to prove a path ran.
	nENOBUFS     int // multishot recvs ended by buffer exhaustion
	nMultiBuffer int // bundle CQEs that spanned more than one buffer
	nGathered    int // bundles of several runs delivered as one copied slice
	nBulk        int // bulk reads (op_recv_bulk.go)
	nMoves       int // conns moved into or out of bulk reads
	nSQFull      int // getSQE found the SQ full and submitted inline
	nCQOverflow  int // drains that found the kernel holding overflowed CQEs

	// Wake-up: a read of the loop's eventfd kept armed on the ring. The
	// kernel writes wakeBuf until the read's CQE.
	wakeBuf   *[8]byte
	wakeArmed bool
	closing   bool

	recancels  map[*Conn]bool // shut-down conns with a cancel retry scheduled (recancel)
	recancelAt time.Time      // the teardown's last cancel retries (tornRecancels)
}

// Ring sizes: the CQ is sized for the worst iteration (every provided
// buffer completed, plus a final CQE per conn for recv and send, plus
// accepts); with FEAT_NODROP an overflow would be flushed, not lost.
const (
	uringSQEntries = 2048
	uringCQEntries = 32768
)

func newUring(l *Loop) (backend, error) {
	s := l.s
	f := s.feats
	cfg := ring.Config{Entries: uringSQEntries, CQEntries: uringCQEntries}
	if s.cfg.ringSQ != 0 { // tests: withRingSizes
		cfg.Entries, cfg.CQEntries = s.cfg.ringSQ, s.cfg.ringCQ
	}
	// Masked caps (tests) also mask the setup flags behind them.
	if !f.Has(ring.CapSingleIssuer) {
		cfg.Disable |= ring.SetupSingleIssuer | ring.SetupDeferTaskrun
	}
	if !f.Has(ring.CapDeferTaskrun) {
		cfg.Disable |= ring.SetupDeferTaskrun
	}
	if !f.Has(ring.CapCoopTaskrun) {
		cfg.Disable |= ring.SetupCoopTaskrun | ring.SetupTaskrunFlag
	}
	if !f.Has(ring.CapNoSQArray) {
		cfg.Disable |= ring.SetupNoSQArray
	}
	if !f.Has(ring.CapSubmitAll) {
		cfg.Disable |= ring.SetupSubmitAll
	}
	// Without EXT_ARG (before 5.11, or masked) waits with a timeout use the
	// ring's internal TIMEOUT SQE.
	cfg.DisableExtArg = !f.Has(ring.CapExtArg)
	cfg.DisableMinWait = !f.Has(ring.CapMinWait)
	r, err := ring.New(cfg)
	if err != nil {
		return nil, err
	}
	files := fileSlots(s.cfg.fileSlots)
	if files > 0 {
		// Registered files: recv, send and connect name a conn by its
		// slot in this table instead of by fd, which saves the kernel an
		// fd table lookup and a file reference count per op (fget was 2%
		// of the CPU of 64-byte echo over 1,000 conns). A conn whose slot
		// is beyond the table, or whose registration fails, uses its fd.
		if err := r.RegisterFilesSparse(files); err != nil {
			l.logger().Debug("reactor: no registered files", "loop", l.idx, "err", err)
			files = 0
		}
	}
	if f.Has(ring.CapRegisteredRing) {
		// Enter by registered index (skips an fd lookup per enter). The
		// registration belongs to this locked thread, which also closes it.
		r.RegisterRingFd()
	}
	b := &uringBackend{l: l, r: r, feats: f, files: files, cqes: make([]*ring.CQE, 256), batch: make([]ring.CQE, 256), wakeBuf: new([8]byte)}
	b.multiAccept = f.Has(ring.CapMultishotAccept)
	// Batch waits only with DEFER_TASKRUN, where every completion reaches the
	// CQ through the loop's own task work. Without it, a CQE an io-wq worker
	// posts directly after min_wait may not end the wait on kernels that
	// lack a later upstream fix to min_wait wake-ups (reported by a review;
	// not reproduced on this 6.18).
	b.batchWait = b.r.UsesMinWait() && b.r.SetupFlags()&ring.SetupDeferTaskrun != 0
	b.multiRecv = f.Has(ring.CapMultishotRecv | ring.CapBufRing)
	b.bundle = b.multiRecv && f.Has(ring.CapRecvBundle)
	if b.multiRecv && f.Has(ring.CapRecvLimit) {
		b.recvLimit = uint32(max(mainRecvMax, s.cfg.bufSize))
	}
	if b.multiRecv {
		count := uint32(s.cfg.bufCount)
		br, err := r.NewBufRing(0, count, uint32(s.cfg.bufSize), 0)
		if err != nil {
			// No buffer ring (memory limits, or a kernel that refuses this
			// geometry): fall back to single-shot recv rather than fail.
			l.logger().Warn("reactor: buffer ring unavailable, using single-shot recv", "loop", l.idx, "err", err)
			b.multiRecv, b.bundle, b.recvLimit = false, false, 0
		}
		b.br = br
	}
	if b.br != nil {
		count := b.br.Count()
		b.brOrder = make([]uint16, count)
		b.brPos = make([]uint16, count)
		for i := range count { // NewBufRing publishes id i at position i
			b.brOrder[i] = uint16(i)
			b.brPos[i] = uint16(i)
		}
		b.brTail = uint16(count)
		b.brMask = uint16(count - 1)
		b.avail = int(count)
		b.lastAvail = b.avail
		b.peak = int(count) // starts full, then decays (topUp)
		b.free = make([]uint16, 0, count)
		b.starveDiv = 1
	}
	// The ring reads the eventfd and must wait for a write, not answer
	// EAGAIN (which older kernels do on O_NONBLOCK files). A Wake never
	// blocks: it writes at most once per drain (netpoll.Waker).
	if err := unix.SetNonblock(l.waker.Fd(), false); err != nil {
		b.close()
		return nil, err
	}
	b.armWake()
	return b, nil
}

func (b *uringBackend) kind() Backend { return BackendUring }

func (b *uringBackend) unreaped() bool {
	return len(b.rest) > 0 || b.r.CQReady() > 0 || b.r.CQOverflowed()
}

// getSQE returns a free SQE, submitting the queued ones when the SQ is full.
// nil only if the kernel refuses to take SQEs.
func (b *uringBackend) getSQE() *ring.SQE {
	if sqe := b.r.GetSQE(); sqe != nil {
		return sqe
	}
	b.nSQFull++
	for range 3 {
		if _, err := b.r.Submit(); err != nil && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) {
			return nil
		}
		if sqe := b.r.GetSQE(); sqe != nil {
			return sqe
		}
	}
	return nil
}

func (b *uringBackend) armWake() {
	if b.wakeArmed || b.closing || b.l.waker.Closed() {
		return // a closed eventfd's number may belong to another file now
	}
	sqe := b.getSQE()
	if sqe == nil {
		return
	}
	// wakeBuf is heap memory referenced by b until the read's CQE.
	sqe.PrepRead(b.l.waker.Fd(), b.wakeBuf[:], 0)
	sqe.SetUserData(token(opWake, 0, 0))
	b.wakeArmed = true
}

// fixed reports whether c's socket is in the registered file table (at
// c.slot): every conn whose slot fits is (open fails otherwise).
func (b *uringBackend) fixed(c *Conn) bool { return c.slot < b.files }

// open puts c's socket in the registered file table at c's slot.
func (b *uringBackend) open(c *Conn) error {
	if !b.fixed(c) {
		return nil
	}
	b.fdArg[0] = c.fd
	return b.r.UpdateFiles(c.slot, b.fdArg[:])
}

// forget empties c's slot in the registered file table, so that closing
// the fd closes the socket (the table holds a reference to it).
func (b *uringBackend) forget(c *Conn, _ bool) {
	if !b.fixed(c) {
		return
	}
	b.fdArg[0] = -1
	if err := b.r.UpdateFiles(c.slot, b.fdArg[:]); err != nil {
		b.l.logger().Error("reactor: unregister file", "loop", b.l.idx, "err", err)
	}
}

// target sets sqe's file to c: its registered slot, else its fd.
func (b *uringBackend) target(c *Conn, sqe *ring.SQE) {
	if b.fixed(c) {
		sqe.Fd = int32(c.slot)
		sqe.SetFlags(ring.SQEFixedFile)
	}
}

// fileSlots is the registered file table size for the option value n: by
// default one slot per fd the process may open (the kernel refuses more),
// up to 65,536.
func fileSlots(n int) uint32 {
	if n < 0 {
		return 0
	}
	if n > 0 {
		return uint32(n)
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return 0
	}
	return uint32(min(lim.Cur, 1<<16))
}

// starvedWait bounds a wait while conns are starved (see wait).
const starvedWait = 100 * time.Microsecond

// dispatch completes the CQEs of batch in order. b.rest is what is left of
// it while a callback runs: a callback that calls runtime.Goexit ends the
// loop goroutine in the middle, and the loop's teardown (the next wait)
// dispatches the rest, so no completion is lost (an accept's fd, a recv's
// buffer, an op the teardown waits for).
func (b *uringBackend) dispatch(batch []ring.CQE) {
	b.rest = batch
	for len(b.rest) > 0 {
		cqe := &b.rest[0]
		b.rest = b.rest[1:]
		b.complete(cqe.UserData, cqe.Res, cqe.Flags, cqe)
	}
}

func (b *uringBackend) wait(d time.Duration) error {
	if len(b.rest) > 0 { // left by a Goexit (see dispatch); before b.batch is reused
		b.dispatch(append([]ring.CQE(nil), b.rest...))
	}
	if len(b.resumed) > 0 {
		b.armResumed()
	}
	if b.br != nil {
		b.topUp()
	}
	if !b.wakeArmed && !b.closing && !b.l.waker.Closed() {
		// The wake-up read's SQE was not to be had when it was last re-armed
		// (getSQE nil: the SQ stayed full, or a submit failed): try again, and
		// until it is armed, do not sleep long without it.
		b.armWake()
		if !b.wakeArmed && (d < 0 || d > time.Millisecond) {
			d = time.Millisecond
		}
	}
	if b.l.tornDown && len(b.recancels) > 0 {
		d = b.tornRecancels(d)
	}
	if b.starvedHead < len(b.starved) {
		b.rearmStarved()
		if b.starvedHead < len(b.starved) && (d < 0 || d > starvedWait) {
			// Conns are still starved, and their bytes wait in their sockets, which
			// wake no one: sleep at most starvedWait, then re-arm more of them (at
			// least one each time). Not sleeping at all would poll for as long as
			// the ring stays dry.
			d = starvedWait
		}
	}
	if b.cbInWait || len(b.resumed) > 0 {
		// armResumed or rearmStarved read a reset (peerFailed): OnData and
		// OnClose ran after d was computed. What they did (writes, kept input,
		// tasks, timers, resumes) is the next iteration's: take d again.
		b.cbInWait = false
		if nd := b.l.waitTimeout(); nd >= 0 && (d < 0 || nd < d) {
			d = nd
		}
		if len(b.resumed) > 0 {
			d = 0
		}
	}
	if b.needPublish {
		// Recycled buffers become visible before the re-armed recvs that
		// need them are submitted (same enter, below).
		b.br.Publish()
		b.needPublish = false
	}
	// Submit and reap in two steps (see enter): the work goes through a
	// RawSyscall, and only an empty CQ blocks, through Syscall6.
	if err := b.enter(d); err != nil {
		return err
	}
	b.l.tick()
	// Drain the CQ. Each batch is copied out and released to the kernel
	// before it is dispatched: dispatching prepares SQEs, and when the SQ
	// is full getSQE submits inline, whose completions then find free CQ
	// slots. Should the CQ still overflow (a small CQ, or more completions
	// in one iteration than it holds), the kernel keeps the extra CQEs in
	// order on its overflow list (FEAT_NODROP, 5.5; the reactor requires
	// it) and PeekBatch flushes them into the CQ as it empties: none is
	// lost, and the loop keeps draining while the kernel reports overflow,
	// up to four CQs' worth: each flush of the overflow list runs task work
	// that completes more, so under a steady stream the kernel may report
	// overflow for ever, and a drain without a bound would never return to
	// the iteration (tasks, timers, flushes, Close). What is left stays on
	// the overflow list, in order, for the next wait, whose enter flushes it
	// and does not sleep while CQEs are ready.
	limit := max(len(b.cqes), 4*int(b.r.CQEntries()))
	for done := 0; done < limit; {
		n := b.r.PeekBatch(b.cqes)
		if n == 0 {
			break
		}
		batch := b.batch[:n]
		for i, cqe := range b.cqes[:n] {
			batch[i] = *cqe
		}
		b.r.CQAdvance(uint32(n))
		b.cqPeak = max(b.cqPeak, n)
		b.dispatch(batch)
		done += n
		if b.r.CQOverflowed() {
			b.nCQOverflow++
			continue
		}
		if n < len(b.cqes) {
			break
		}
	}
	return nil
}

// WithBatchWait: a loop that found batchBusy CQEs ready at once since it
// last slept sleeps until batchCQEs are ready or the batch wait has passed.
// Many completions at once mean many conns active; one conn's ping-pong,
// however fast, completes a recv and a send at a time.
const (
	batchBusy = 8
	batchCQEs = 32
)

// enter submits what is queued and waits up to d (<0 forever, 0 not at all)
// for a completion.
//
// It enters twice when it must block. First without waiting, through
// RawSyscall: that call issues the sends and, with DEFER_TASKRUN, runs the
// receives the kernel completed meanwhile, which under load is most of the
// server's CPU time. Only if the CQ is still empty does it wait, through
// Syscall6, so that the Go scheduler can use the P meanwhile. One blocking
// enter doing both was measured worse: to the runtime the whole call looks
// blocked, so once it spans two sysmon ticks sysmon retakes the P, hands it
// to a spinning thread and drops its own tick to 20 µs; on a loaded server
// that came to 8% of its CPU (perf: runtime.sysmon, usleep, futex wake-ups
// and the context switches they cause), against 0.5% for gnet.
func (b *uringBackend) enter(d time.Duration) error {
	_, err := b.r.SubmitAndWaitTimeout(0, 0)
	if err == nil && d != 0 && b.r.CQReady() == 0 {
		// A busy loop sleeps until a batch is ready (WithBatchWait).
		if w := b.l.s.cfg.batchWait; w > 0 && b.batchWait && b.cqPeak >= batchBusy {
			b.nBatchWaits++
			_, err = b.r.SubmitAndWaitMin(batchCQEs, w, d)
		} else {
			_, err = b.r.SubmitAndWaitTimeout(1, d)
		}
		b.cqPeak = 0
	}
	if err != nil {
		switch {
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ETIME), errors.Is(err, unix.EBUSY), errors.Is(err, unix.EAGAIN):
			// EBUSY/EAGAIN: completions must be reaped first; do so.
		default:
			return err
		}
	}
	return nil
}

// complete dispatches one CQE.
func (b *uringBackend) complete(ud uint64, res int32, flags uint32, cqe *ring.CQE) {
	op, slot, gen := untoken(ud)
	l := b.l
	switch op {
	case opWake:
		b.wakeArmed = false
		// The read consumed the counter: clear the pending flag before the
		// loop reads its task queue (netpoll.Waker protocol).
		l.waker.Acknowledge()
		b.armWake()
		return
	case opAccept:
		if int(slot) < len(l.listeners) {
			b.acceptDone(l.listeners[slot], res, flags)
		}
		return
	case opCancel:
		if res == -int32(unix.ENOENT) {
			// The cancel found nothing, but an op of the conn may still be in
			// flight: one the kernel was re-issuing as the cancel came (a connect
			// whose poll fired, retried, then blocked in io-wq) is in none of the
			// lists a cancel searches. Cancel again shortly, until it completes.
			if c := l.lookup(slot, gen); c != nil && c.state >= stateClosed && c.inflight > 0 {
				b.recancel(c)
			}
		}
		return
	}
	c := l.lookup(slot, gen)
	if c == nil {
		// Cannot happen while release waits for the final CQE; still, never
		// lose a provided buffer.
		if flags&ring.CQEFBuffer != 0 && op == opRecv {
			b.recycleCQE(res, flags)
		}
		return
	}
	switch op {
	case opRecv:
		b.recvDone(c, res, flags, cqe)
	case opSend:
		b.sendDone(c, res)
	case opConnect:
		c.inflight--
		c.connArmed = false
		l.connected(c, ring.Errno(res))
	}
	if c.state >= stateClosed && c.state < stateReleased && c.inflight == 0 {
		l.release(c)
	}
}

func (b *uringBackend) close() error {
	b.closing = true
	if b.wakeArmed {
		// Cancel the eventfd read and wait (bounded) for its CQE, so the
		// kernel no longer references wakeBuf when the ring goes away.
		if sqe := b.getSQE(); sqe != nil {
			sqe.PrepCancel(token(opWake, 0, 0), 0)
			sqe.SetUserData(token(opCancel, 0, 0))
		}
		for i := 0; i < 100 && b.wakeArmed; i++ {
			if err := b.wait(10 * time.Millisecond); err != nil {
				break
			}
		}
	}
	// Ring.Close closes the buffer ring (b.br) itself, after it
	// has cancelled every request still in flight and waited for it, so no
	// receive can be copying into a slab when it is unmapped (closing them
	// here first would skip that wait).
	return b.r.Close()
}

// recancel cancels the ops still in flight on a shut-down conn again, a
// millisecond later: a cancel that found nothing (-ENOENT) while an op was in
// flight. During the teardown, which runs no timers, wait re-issues it, also
// at most once a millisecond (each cancel's own CQE ends a wait, so at once
// would spin through the teardown's wait budget while a connect runs on).
func (b *uringBackend) recancel(c *Conn) {
	if b.recancels[c] {
		return
	}
	if b.recancels == nil {
		b.recancels = make(map[*Conn]bool)
	}
	b.recancels[c] = true
	if !b.l.tornDown {
		b.l.AfterFunc(time.Millisecond, func() { b.cancelAgain(c) })
	}
}

// cancelAgain is recancel's retry.
func (b *uringBackend) cancelAgain(c *Conn) {
	delete(b.recancels, c)
	if c.state < stateClosed || c.state == stateReleased || c.inflight == 0 {
		return
	}
	if c.recvArmed {
		b.cancel(c, opRecv)
	}
	if c.sendBusy {
		b.cancel(c, opSend)
	}
	if c.connArmed {
		b.cancel(c, opConnect)
	}
}

// tornRecancels runs the teardown's pending cancel retries once a
// millisecond has passed since the last ones, and returns the wait to use
// meanwhile (at most until then).
func (b *uringBackend) tornRecancels(d time.Duration) time.Duration {
	if now := time.Now(); now.Sub(b.recancelAt) >= time.Millisecond {
		b.recancelAt = now
		for c := range b.recancels {
			b.cancelAgain(c)
		}
	}
	if len(b.recancels) > 0 && (d < 0 || d > time.Millisecond) {
		d = time.Millisecond
	}
	return d
}
