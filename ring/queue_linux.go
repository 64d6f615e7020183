//go:build linux

package ring

import (
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The hot path: SQE acquisition, submission, CQE peek and advance (liburing:
// src/queue.c and the inline part of liburing.h). Nothing here allocates or
// defers; shared words are touched only through access_linux.go.

const (
	sqeSize = unsafe.Sizeof(SQE{})
	cqeSize = unsafe.Sizeof(CQE{})
)

// GetSQE returns the next free SQE, zeroed, or nil when the SQ is full (or
// the ring is closed). The SQE belongs to the caller until the next Submit*.
// Loop only.
//
// liburing: io_uring_get_sqe (and io_uring_initialize_sqe for the zeroing).
func (r *Ring) GetSQE() *SQE {
	if r.closed {
		return nil
	}
	tail := r.sqeTail
	// r.sqHead is a cached, possibly stale (smaller) copy of the kernel's
	// head: a stale copy only makes the SQ look fuller, so reload then.
	if tail-r.sqHead >= r.sqEntries {
		r.sqHead = sqHeadLoad(r.kSQHead)
		if tail-r.sqHead >= r.sqEntries {
			return nil
		}
	}
	// tail&sqMask < sqEntries: the slot lies inside the SQE mapping.
	s := (*SQE)(unsafe.Add(r.sqes, uintptr(tail&r.sqMask)*sqeSize))
	*s = SQE{}
	r.sqeTail = tail + 1
	return s
}

// SQReady is the number of SQEs prepared and not yet consumed by the kernel.
// Loop only.
//
// liburing: io_uring_sq_ready.
func (r *Ring) SQReady() uint32 {
	if r.closed {
		return 0
	}
	return r.sqeTail - sqHeadLoad(r.kSQHead)
}

// SQSpace is the number of SQEs GetSQE can still hand out. Loop only.
//
// liburing: io_uring_sq_space_left.
func (r *Ring) SQSpace() uint32 {
	if r.closed {
		return 0
	}
	return r.sqEntries - r.SQReady()
}

// flushSQ publishes the prepared SQEs and returns how many the kernel has
// not consumed yet.
//
// liburing: __io_uring_flush_sq.
func (r *Ring) flushSQ() uint32 {
	tail := r.sqeTail
	if r.sqeHead != tail {
		r.sqeHead = tail
		sqTailStore(r.kSQTail, tail)
	}
	return tail - sqHeadLoad(r.kSQHead)
}

// needsFlush reports whether the kernel holds completions back until we
// enter with GETEVENTS: overflowed CQEs (IORING_SQ_CQ_OVERFLOW) or pending
// task work (IORING_SQ_TASKRUN, set with COOP_TASKRUN|TASKRUN_FLAG).
//
// liburing: cq_ring_needs_flush.
func (r *Ring) needsFlush() bool {
	return sqFlagsLoad(r.kSQFlags)&(SQCQOverflow|SQTaskrun) != 0
}

// enterErr maps an io_uring_enter errno.
//   - EEXIST: the ring has SINGLE_ISSUER and this is not the thread that
//     created it (io_uring_enter checks ctx->submitter_task).
//
// Others are returned as they are: EBUSY/EAGAIN (the kernel could not
// allocate or the CQ overflow backlog is full: reap CQEs and retry), EBADR
// (CQEs were dropped, only without FEAT_NODROP), EBADF/EOPNOTSUPP (bad fd).
func enterErr(errno unix.Errno) error {
	if errno == unix.EEXIST {
		return ErrWrongThread
	}
	return errno
}

// Submit hands the prepared SQEs to the kernel and returns how many it
// consumed. It never waits for completions, so it uses RawSyscall (no
// scheduler hand-off); it enters with GETEVENTS (still without waiting) when
// the kernel has overflowed CQEs or task work to flush. It makes no system
// call when there is nothing to do. Loop only.
//
// liburing: io_uring_submit.
func (r *Ring) Submit() (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	n := r.flushSQ()
	flags := r.enterFlags
	if r.needsFlush() {
		flags |= EnterGetEvents
	}
	if n == 0 && flags&EnterGetEvents == 0 {
		return 0, nil
	}
	for {
		ret, errno := sysEnterRaw(r.enterFd, n, 0, flags, nil, 0)
		if errno == 0 {
			return ret, nil
		}
		// EINTR: a signal arrived before any SQE was consumed (the kernel
		// returns the count once it has submitted any), so retry as is.
		if errno != unix.EINTR {
			return 0, enterErr(errno)
		}
	}
}

// SubmitAndWait submits the prepared SQEs and waits until at least n CQEs
// are ready. It uses Syscall6, so the Go scheduler runs other goroutines
// while this thread waits. EINTR before submission is retried; a signal
// during the wait may end it early (like liburing), so callers check what
// PeekBatch returns. n == 0 submits and flushes completions without waiting.
// Loop only.
//
// liburing: io_uring_submit_and_wait.
func (r *Ring) SubmitAndWait(n uint32) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	flags := r.enterFlags | EnterGetEvents
	for {
		ret, errno := sysEnter(r.enterFd, r.flushSQ(), n, flags, nil, 0)
		if errno == 0 {
			return ret, nil
		}
		// EINTR: nothing was submitted (see Submit) and the wait was
		// interrupted by a signal (Go's preemption signal, SIGURG, is
		// common): wait again.
		if errno != unix.EINTR {
			return 0, enterErr(errno)
		}
	}
}

// SubmitAndWaitTimeout submits the prepared SQEs and waits until n CQEs are
// ready or d has passed. Reaching the timeout is not an error. d < 0 waits
// forever (SubmitAndWait), d == 0 (or n == 0) submits and flushes
// completions without waiting. A signal may end the wait early; the caller
// loops. It returns the number of the caller's SQEs consumed. Loop only.
//
// With FEAT_EXT_ARG the timeout travels in io_uring_enter's argument.
// Otherwise an internal TIMEOUT SQE with user data UserDataInternal is
// submitted with the others; its CQE is hidden by PeekBatch, and one may
// arrive after this call returned.
//
// liburing: io_uring_submit_and_wait_timeout.
func (r *Ring) SubmitAndWaitTimeout(n uint32, d time.Duration) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	switch {
	case d < 0:
		return r.SubmitAndWait(n)
	case d == 0 || n == 0:
		return r.submitGetEvents()
	case r.useExtArg && !r.testNoExtArg:
		return r.waitExtArg(n, d)
	default:
		return r.waitTimeoutSQE(n, d)
	}
}

// submitGetEvents submits and enters with GETEVENTS but min_complete 0: it
// cannot block, so RawSyscall. With DEFER_TASKRUN this is what runs the
// deferred completions.
func (r *Ring) submitGetEvents() (int, error) {
	flags := r.enterFlags | EnterGetEvents
	for {
		ret, errno := sysEnterRaw(r.enterFd, r.flushSQ(), 0, flags, nil, 0)
		if errno == 0 {
			return ret, nil
		}
		if errno != unix.EINTR { // EINTR: as in Submit
			return 0, enterErr(errno)
		}
	}
}

// setWaitTs stores d in the ring's kernel timespec.
func (r *Ring) setWaitTs(d time.Duration) {
	r.waitTs = kernelTimespec{sec: int64(d / time.Second), nsec: int64(d % time.Second)}
}

// noTimeout stands for no timeout where the kernel needs one: a day.
const noTimeout = 24 * time.Hour

// SubmitAndWaitMin submits the prepared SQEs and waits for a batch: until n
// CQEs are ready, or until minWait has passed since the call and at least
// one is (after minWait, the first CQE ends the wait), or until d has passed
// (d < 0: no limit). A d not longer than minWait waits up to d for the n.
// It returns as SubmitAndWaitTimeout does. Loop only.
//
// This trades up to minWait of latency for fewer wake-ups: with
// DEFER_TASKRUN the kernel then runs the completions gathered meanwhile in
// one go, rather than waking the task for each. Without UsesMinWait (before
// 6.12) it is SubmitAndWaitTimeout(1, d): no batching, no added latency.
//
// liburing: io_uring_submit_and_wait_min_timeout.
func (r *Ring) SubmitAndWaitMin(n uint32, minWait, d time.Duration) (int, error) {
	switch {
	case r.closed:
		return 0, ErrClosed
	case !r.UsesMinWait() || n <= 1 || minWait <= 0:
		return r.SubmitAndWaitTimeout(min(n, 1), d) // n == 0: no wait
	case d == 0:
		return r.submitGetEvents()
	case d > 0 && d <= minWait:
		return r.waitExtArg(min(n, r.cqEntries), d)
	case d < 0:
		// Without a general timeout the kernel ends the whole wait when
		// min_wait_usec expires, CQEs or not: an idle loop would wake
		// every minWait. With one, it then waits for the first CQE.
		d = noTimeout
	}
	usec := uint32(min(minWait/time.Microsecond, 1<<31))
	return r.enterExtArg(min(n, r.cqEntries), d, max(usec, 1))
}

// waitExtArg waits with IORING_ENTER_EXT_ARG (5.11).
func (r *Ring) waitExtArg(n uint32, d time.Duration) (int, error) {
	return r.enterExtArg(n, d, 0)
}

// enterExtArg waits with IORING_ENTER_EXT_ARG for n CQEs, at most d (d < 0:
// no timeout), with min_wait_usec minUsec (FEAT_MIN_TIMEOUT; 0: none).
func (r *Ring) enterExtArg(n uint32, d time.Duration, minUsec uint32) (int, error) {
	var ts uint64
	if d >= 0 {
		r.setWaitTs(d)
		// The Ring lives on the heap and does not move: the kernel reads
		// waitArg and, through it, waitTs during this call only.
		ts = uint64(uintptr(unsafe.Pointer(&r.waitTs)))
	}
	r.waitArg = getEventsArg{ts: ts, minWaitUsec: minUsec}
	ret, errno := sysEnter(r.enterFd, r.flushSQ(), n, r.enterFlags|EnterGetEvents|EnterExtArg,
		unsafe.Pointer(&r.waitArg), unsafe.Sizeof(r.waitArg))
	runtime.KeepAlive(r)
	switch errno {
	case 0:
		return ret, nil
	case unix.ETIME, unix.EINTR:
		// ETIME: the timeout expired, which is not an error. EINTR: a
		// signal ended the wait early; the caller loops. In both cases the
		// kernel submitted nothing (it returns the count when it did).
		return 0, nil
	}
	return 0, enterErr(errno)
}

// waitTimeoutSQE waits using an internal TIMEOUT SQE, for kernels without
// EXT_ARG. The timeout completes after n other CQEs or at d. The kernel ends
// a GETEVENTS wait when a timeout fires during it, whatever min_complete is,
// but not when it fired before the wait began (a short d): so the wait is
// for one new CQE at a time, until n are ready or the timeout's own is.
//
// liburing: __io_uring_submit_timeout.
func (r *Ring) waitTimeoutSQE(n uint32, d time.Duration) (int, error) {
	// The CQ never holds more than cqEntries: wanting more could not end
	// the wait (the kernel caps min_complete the same way), and once the CQ
	// is full the timeout's own CQE waits on the overflow list, where
	// internalReady cannot see it.
	n = min(n, r.cqEntries)
	r.skipInternal() // an internal CQE at the head is no CQE of the caller's
	if r.CQReady() >= n {
		return r.submitGetEvents()
	}
	prior := 0
	s := r.GetSQE()
	if s == nil { // SQ full: submit what is there to make room
		var err error
		if prior, err = r.Submit(); err != nil {
			return 0, err
		}
		if r.CQReady() >= n { // what that submitted completed at once
			k, err := r.submitGetEvents()
			return prior + k, err
		}
		if s = r.GetSQE(); s == nil {
			return prior, ErrSQFull
		}
	}
	r.setWaitTs(d)
	// The TIMEOUT prep copies the timespec during io_uring_enter below, so
	// reusing waitTs for the next call is safe. Its count is the CQEs still
	// missing, not n: it counts only CQEs posted after it, and one left
	// armed once the wait got its n would end a later wait early.
	s.prepRW(OpTimeout, -1, uint64(uintptr(unsafe.Pointer(&r.waitTs))), 1, uint64(n-min(r.CQReady(), n-1)))
	s.UserData = UserDataInternal
	r.internalInflight++
	at := r.sqeTail - 1 // the internal SQE's SQ index
	// Wait for one more CQE at a time, not for n at once: the kernel ends a
	// wait early when a timeout fires during it, but a timeout that fired
	// before the wait began (a short d) ends nothing, and its own CQE is
	// then the only new one: a wait for n >= 2 would outlive d for as long
	// as no other completion comes.
	ret, err := r.SubmitAndWait(r.CQReady() + 1)
	for err == nil && r.CQReady() < n && !r.internalReady() {
		var k int
		k, err = r.SubmitAndWait(r.CQReady() + 1)
		ret += k
	}
	runtime.KeepAlive(r)
	if ret > 0 && int32(sqHeadLoad(r.kSQHead)-at) > 0 {
		ret-- // the internal SQE, if the kernel took it (SUBMIT_ALL may be off)
	}
	return prior + ret, err
}

// skipInternal consumes the internal TIMEOUT CQEs at the head of the CQ.
func (r *Ring) skipInternal() {
	if r.internalInflight != 0 {
		head := r.cqHead
		r.peekSkippingInternal(nil, head, cqTailLoad(r.kCQTail)-head)
	}
}

// internalReady reports whether an internal TIMEOUT CQE is in the CQ.
func (r *Ring) internalReady() bool {
	tail := cqTailLoad(r.kCQTail)
	for i := r.cqHead; i != tail; i++ {
		if r.cqeAt(i).UserData == UserDataInternal {
			return true
		}
	}
	return false
}

// CQReady is the number of CQEs ready to be peeked (it may include an
// internal one that PeekBatch hides). Loop only.
//
// liburing: io_uring_cq_ready.
func (r *Ring) CQReady() uint32 {
	if r.closed {
		return 0
	}
	return cqTailLoad(r.kCQTail) - r.cqHead
}

// cqeAt is the CQE in slot i&cqMask (inside the CQ mapping).
func (r *Ring) cqeAt(i uint32) *CQE {
	return (*CQE)(unsafe.Add(r.cqes, uintptr(i&r.cqMask)*cqeSize))
}

// PeekBatch fills dst with pointers to ready CQEs, oldest first, and returns
// how many. The pointers aim into the mapped CQ and are valid until
// CQAdvance releases them; copy what must outlive that. When the CQ is empty
// but the kernel holds completions back (overflow, task work), it flushes
// them first with a non-blocking io_uring_enter. CQEs of the ring's internal
// timeout are consumed here and never returned. Loop only.
//
// liburing: io_uring_peek_batch_cqe.
func (r *Ring) PeekBatch(dst []*CQE) int {
	if r.closed {
		return 0
	}
	head := r.cqHead
	ready := cqTailLoad(r.kCQTail) - head
	if ready == 0 {
		if !r.needsFlush() {
			return 0
		}
		r.flushCQ()
		ready = cqTailLoad(r.kCQTail) - head
	}
	if r.internalInflight != 0 {
		return r.peekSkippingInternal(dst, head, ready)
	}
	if uint32(len(dst)) > ready {
		dst = dst[:ready]
	}
	for i := range dst {
		dst[i] = r.cqeAt(head + uint32(i))
	}
	return len(dst)
}

// peekSkippingInternal is PeekBatch while internal TIMEOUT CQEs may be in
// the CQ: it consumes those at the head and stops before any other.
func (r *Ring) peekSkippingInternal(dst []*CQE, head, ready uint32) int {
	for ready > 0 && r.cqeAt(head).UserData == UserDataInternal {
		head++
		ready--
		r.internalInflight--
	}
	if head != r.cqHead {
		r.cqHead = head
		cqHeadStore(r.kCQHead, head)
	}
	n := min(uint32(len(dst)), ready)
	for i := uint32(0); i < n; i++ {
		c := r.cqeAt(head + i)
		if c.UserData == UserDataInternal {
			return int(i) // stop before it; it is consumed once at the head
		}
		dst[i] = c
	}
	return int(n)
}

// flushCQ asks the kernel to post overflowed CQEs and run pending task work,
// without waiting (RawSyscall: min_complete is 0).
func (r *Ring) flushCQ() {
	for {
		_, errno := sysEnterRaw(r.enterFd, 0, 0, r.enterFlags|EnterGetEvents, nil, 0)
		if errno != unix.EINTR { // EINTR: as in Submit; other errors surface at the next Submit*
			return
		}
	}
}

// CQAdvance releases the n oldest CQEs (those PeekBatch returned) to the
// kernel. n is clamped to the number ready. Loop only.
//
// liburing: io_uring_cq_advance.
func (r *Ring) CQAdvance(n uint32) {
	if r.closed || n == 0 {
		return
	}
	head := r.cqHead
	if ready := cqTailLoad(r.kCQTail) - head; n > ready {
		n = ready
	}
	r.cqHead = head + n
	cqHeadStore(r.kCQHead, head+n)
}

// CQOverflowed reports whether the kernel currently holds overflowed CQEs
// (IORING_SQ_CQ_OVERFLOW). The next Submit* or an empty PeekBatch flushes
// them into the CQ as space allows (FEAT_NODROP). Loop only.
func (r *Ring) CQOverflowed() bool {
	return !r.closed && sqFlagsLoad(r.kSQFlags)&SQCQOverflow != 0
}

// CQDropped is the number of CQEs the kernel dropped because the CQ was full
// (only on kernels without FEAT_NODROP). Loop only.
func (r *Ring) CQDropped() uint32 {
	if r.closed {
		return 0
	}
	return cqOverflowLoad(r.kCQOverflow)
}
