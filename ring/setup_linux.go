//go:build linux

package ring

import (
	"errors"
	"fmt"
	"math/bits"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: its SQ, CQ and SQE array mapped from the
// kernel. A Ring is owned by one goroutine (see the package doc, "Threads");
// all its methods are loop only.
type Ring struct {
	// Hot path, submission side. k* fields point into kernel-shared memory
	// and are accessed only through access_linux.go.
	kSQHead   *uint32        // kernel advances as it consumes SQEs
	kSQTail   *uint32        // we publish prepared SQEs here
	kSQFlags  *uint32        // IORING_SQ_* set by the kernel
	sqes      unsafe.Pointer // sqEntries SQEs (mmap, IORING_OFF_SQES)
	sqMask    uint32         // sqEntries-1
	sqEntries uint32
	sqeTail   uint32 // next SQE to hand out; SQEs in [sqeHead, sqeTail) are prepared, not published
	sqeHead   uint32 // tail last published to the kernel
	sqHead    uint32 // cached *kSQHead, refreshed by GetSQE when the SQ looks full

	// Hot path, completion side.
	kCQHead     *uint32        // we store after reading CQEs
	kCQTail     *uint32        // kernel advances after writing CQEs
	kCQOverflow *uint32        // CQEs dropped (without FEAT_NODROP)
	cqes        unsafe.Pointer // cqEntries CQEs
	cqMask      uint32
	cqEntries   uint32
	cqHead      uint32 // our copy of *kCQHead (we are its only writer)

	internalInflight uint32 // internal TIMEOUT SQEs whose CQE PeekBatch has not consumed

	enterFd    int    // fd or registered ring index passed to io_uring_enter
	enterFlags uint32 // EnterRegisteredRing once the ring fd is registered
	closed     bool
	useExtArg  bool // FEAT_EXT_ARG and not Config.DisableExtArg
	useMinWait bool // FEAT_MIN_TIMEOUT, useExtArg and not Config.DisableMinWait

	// Wait arguments, kept in the Ring (heap, never moves) so that
	// SubmitAndWaitTimeout does not allocate. The kernel reads them during
	// io_uring_enter only (the TIMEOUT prep copies the timespec).
	waitArg getEventsArg
	waitTs  kernelTimespec

	// Cold fields, immutable after New except where noted.
	fd         int
	setupFlags uint32
	features   uint32
	sqRingMem  unsafe.Pointer // SQ ring mapping (also the CQ ring with FEAT_SINGLE_MMAP)
	sqRingSize uintptr
	cqRingMem  unsafe.Pointer // separate CQ ring mapping, nil with FEAT_SINGLE_MMAP
	cqRingSize uintptr
	sqeSize    uintptr
	regIndex   int     // registered ring fd index, -1 if none (RegisterRingFd)
	updFds     []int32 // UpdateFiles argument while the kernel reads it (see there)
	regTid     int     // thread that registered it
	bufRings   []*BufRing

	// testNoExtArg is a test hook: it makes SubmitAndWaitTimeout use the
	// internal TIMEOUT SQE as on kernels without FEAT_EXT_ARG.
	testNoExtArg bool
}

// UserDataInternal is the user data of the ring's own TIMEOUT SQEs (kernels
// without FEAT_EXT_ARG); PeekBatch hides their CQEs. Callers never use it.
const UserDataInternal uint64 = ^uint64(0)

// setupHooks are test hooks for New's degradation path: refuse makes setup
// attempts that contain any of its flags fail with EINVAL without asking the
// kernel; extra adds optional flags that are tried first and dropped on
// EINVAL (the kernel rejects unknown bits with EINVAL).
type setupHooks struct {
	refuse uint32
	extra  uint32
	fail   unix.Errno // if set, every attempt fails with it (errno mapping tests)
}

// Setup flags New knows how to drive. Others change the SQE/CQE layout or
// the submission model (SQPOLL, IOPOLL, SQE128, CQE32, NO_MMAP, ...).
const knownSetupFlags = SetupCQSize | SetupClamp | SetupSubmitAll | SetupCoopTaskrun |
	SetupTaskrunFlag | SetupSingleIssuer | SetupDeferTaskrun | SetupNoSQArray

// New creates a ring. It tries SINGLE_ISSUER|DEFER_TASKRUN|TASKRUN_FLAG, else
// COOP_TASKRUN|TASKRUN_FLAG, else neither, each with SUBMIT_ALL, CQSIZE and
// NO_SQARRAY, dropping a flag whenever the kernel answers EINVAL (how it
// refuses a flag it does not know), unless cfg.Require names it.
//
// For SINGLE_ISSUER semantics the calling goroutine must have called
// runtime.LockOSThread and must use the ring only from that thread.
//
// If io_uring is unavailable (ENOSYS, EPERM, ENOMEM) the error wraps both
// ErrUnsupported and the errno.
func New(cfg Config) (*Ring, error) { return newWithHooks(cfg, setupHooks{}) }

func newWithHooks(cfg Config, hooks setupHooks) (*Ring, error) {
	if unsafe.Sizeof(unix.Timespec{}) != unsafe.Sizeof(kernelTimespec{}) {
		// 32-bit platforms: PrepTimeout's *unix.Timespec would not be the
		// kernel's __kernel_timespec.
		return nil, fmt.Errorf("%w: 32-bit timespec", ErrUnsupported)
	}
	entries, cqEntries, err := ringSizes(cfg)
	if err != nil {
		return nil, err
	}
	if bad := cfg.Require &^ knownSetupFlags; bad != 0 {
		return nil, fmt.Errorf("ring: setup flags %#x not supported by this package: %w", bad, unix.EINVAL)
	}
	if cfg.Require&cfg.Disable != 0 {
		return nil, fmt.Errorf("ring: setup flags %#x both required and disabled: %w", cfg.Require&cfg.Disable, unix.EINVAL)
	}
	var p params
	fd, err := setupDegrading(entries, cqEntries, cfg, hooks, &p)
	if err != nil {
		return nil, err
	}
	r := &Ring{fd: fd, enterFd: fd, setupFlags: p.flags, features: p.features, regIndex: -1}
	if err := r.mapRings(&p); err != nil {
		r.unmap()
		unix.Close(fd)
		return nil, err
	}
	r.useExtArg = r.features&FeatExtArg != 0 && !cfg.DisableExtArg
	r.useMinWait = r.useExtArg && r.features&FeatMinTimeout != 0 && !cfg.DisableMinWait
	return r, nil
}

// UsesExtArg reports whether SubmitAndWaitTimeout passes its timeout in
// io_uring_enter's EXT_ARG (FEAT_EXT_ARG and not Config.DisableExtArg);
// otherwise it uses an internal TIMEOUT SQE. Loop only.
func (r *Ring) UsesExtArg() bool { return r.useExtArg && !r.testNoExtArg }

// UsesMinWait reports whether SubmitAndWaitMin can batch completions
// (FEAT_MIN_TIMEOUT with EXT_ARG, and not Config.DisableMinWait). Loop only.
func (r *Ring) UsesMinWait() bool { return r.useMinWait && !r.testNoExtArg }

// ringSizes validates and defaults the SQ and CQ sizes.
func ringSizes(cfg Config) (sq, cq uint32, err error) {
	sq = cfg.Entries
	if sq == 0 {
		sq = 256
	}
	if sq > maxEntries {
		return 0, 0, fmt.Errorf("ring: Entries %d > %d: %w", sq, maxEntries, unix.EINVAL)
	}
	sq = 1 << bits.Len32(sq-1) // round up to a power of two (1 stays 1)
	cq = cfg.CQEntries
	if cq == 0 {
		cq = min(4*sq, maxCQEntries)
	}
	if cq < sq || cq > maxCQEntries {
		return 0, 0, fmt.Errorf("ring: CQEntries %d not in [%d, %d]: %w", cq, sq, maxCQEntries, unix.EINVAL)
	}
	return sq, cq, nil
}

// setupDegrading runs io_uring_setup with the best flags the kernel accepts
// (liburing's habit in io_uring_queue_init_try_nosqarr, generalised). The
// tiers are tried best first; within a tier the optional flags are dropped
// newest first. Only EINVAL degrades: it is how io_uring_setup refuses a flag
// it does not know or a combination it does not allow (DEFER_TASKRUN without
// SINGLE_ISSUER). Any other errno ends the search.
func setupDegrading(entries, cqEntries uint32, cfg Config, hooks setupHooks, p *params) (int, error) {
	// TASKRUN_FLAG with DEFER_TASKRUN (6.1) makes the kernel raise
	// IORING_SQ_TASKRUN when it defers a completion to us: without it
	// needsFlush cannot see deferred work, and Submit plus PeekBatch would
	// never post a completion that arrived after the submit.
	tiers := [...]uint32{SetupSingleIssuer | SetupDeferTaskrun | SetupTaskrunFlag, SetupCoopTaskrun | SetupTaskrunFlag, 0}
	// Optional flags in the order they are dropped: test extras, then
	// NO_SQARRAY (6.6), SUBMIT_ALL (5.18), CQSIZE (5.5).
	optional := [...]uint32{hooks.extra, SetupNoSQArray, SetupSubmitAll, SetupCQSize}
	lastErr := unix.EINVAL
	for _, full := range tiers {
		tier := full &^ cfg.Disable
		if tier&(SetupCoopTaskrun|SetupDeferTaskrun) == 0 {
			tier &^= SetupTaskrunFlag // alone, the kernel refuses it
		}
		if tier&SetupDeferTaskrun != 0 && tier&SetupSingleIssuer == 0 {
			continue // the kernel would refuse it
		}
		if tier == 0 && full != 0 {
			continue // wholly disabled: that is the last tier's job, try the next
		}
		opt := uint32(0)
		for _, f := range optional {
			opt |= f
		}
		opt &^= cfg.Disable
		for next := 0; ; next++ {
			*p = params{flags: tier | opt | cfg.Require, cqEntries: cqEntries}
			fd, errno := trySetup(entries, p, hooks)
			if errno == 0 {
				return restoreDropped(fd, entries, cqEntries, cfg.Disable, hooks, p, optional[:next]), nil
			}
			lastErr = errno
			if errno != unix.EINVAL {
				return -1, unsupported("io_uring_setup", errno)
			}
			// Drop the next optional flag that is set and not required.
			for next < len(optional) && optional[next]&opt&^cfg.Require == 0 {
				next++
			}
			if next == len(optional) {
				break // nothing left to drop in this tier
			}
			opt &^= optional[next] &^ cfg.Require
		}
	}
	return -1, unsupported("io_uring_setup", lastErr)
}

// restoreDropped tries to add back, one at a time, the optional flags that
// were dropped on the way to a working set: EINVAL does not say which flag
// was refused, so dropping newest first may have dropped innocent ones. Each
// success replaces the ring (the old fd is closed). Only degraded kernels pay
// these extra setups.
func restoreDropped(fd int, entries, cqEntries, disable uint32, hooks setupHooks, p *params, dropped []uint32) int {
	for _, f := range dropped {
		if f == 0 || f&disable != 0 || p.flags&f == f {
			continue
		}
		try := params{flags: p.flags | f, cqEntries: cqEntries}
		nfd, errno := trySetup(entries, &try, hooks)
		if errno != 0 {
			continue
		}
		unix.Close(fd)
		fd, *p = nfd, try
	}
	return fd
}

// trySetup is one io_uring_setup attempt, or a simulated EINVAL when the
// test hook refuses one of the flags.
func trySetup(entries uint32, p *params, hooks setupHooks) (int, unix.Errno) {
	if hooks.fail != 0 {
		return -1, hooks.fail
	}
	if p.flags&hooks.refuse != 0 {
		return -1, unix.EINVAL
	}
	return sysSetup(entries, p)
}

// mapRings maps the SQ ring, CQ ring and SQE array and sets the pointers.
// liburing: io_uring_mmap and io_uring_setup_ring_pointers.
func (r *Ring) mapRings(p *params) error {
	r.sqRingSize = uintptr(p.sqOff.array) + uintptr(p.sqEntries)*4
	r.cqRingSize = uintptr(p.cqOff.cqes) + uintptr(p.cqEntries)*unsafe.Sizeof(CQE{})
	single := p.features&FeatSingleMmap != 0
	if single {
		r.sqRingSize = max(r.sqRingSize, r.cqRingSize)
	}
	var err error
	if r.sqRingMem, err = mmapRing(r.fd, offSQRing, r.sqRingSize); err != nil {
		r.sqRingMem = nil
		return mmapErr(err)
	}
	cq := r.sqRingMem
	if !single {
		if r.cqRingMem, err = mmapRing(r.fd, offCQRing, r.cqRingSize); err != nil {
			r.cqRingMem = nil
			return mmapErr(err)
		}
		cq = r.cqRingMem
	}
	r.sqeSize = uintptr(p.sqEntries) * unsafe.Sizeof(SQE{})
	if r.sqes, err = mmapRing(r.fd, offSQEs, r.sqeSize); err != nil {
		r.sqes = nil
		return mmapErr(err)
	}
	sq := r.sqRingMem
	// The offsets come from the kernel and lie inside the mappings above:
	// the pointers stay valid until unmap.
	r.kSQHead = (*uint32)(unsafe.Add(sq, p.sqOff.head))
	r.kSQTail = (*uint32)(unsafe.Add(sq, p.sqOff.tail))
	r.kSQFlags = (*uint32)(unsafe.Add(sq, p.sqOff.flags))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	r.sqEntries = *(*uint32)(unsafe.Add(sq, p.sqOff.ringEntries))
	if p.flags&SetupNoSQArray == 0 {
		// Identity map SQ array slot i to SQE i once, so flushing the SQ is a
		// single tail store (liburing does the same at init). Nothing is
		// submitted yet, so plain stores suffice: the first tail store
		// (store-release) orders them before the kernel reads any slot.
		arr := unsafe.Slice((*uint32)(unsafe.Add(sq, p.sqOff.array)), p.sqEntries)
		for i := range arr {
			arr[i] = uint32(i)
		}
	}
	r.kCQHead = (*uint32)(unsafe.Add(cq, p.cqOff.head))
	r.kCQTail = (*uint32)(unsafe.Add(cq, p.cqOff.tail))
	r.kCQOverflow = (*uint32)(unsafe.Add(cq, p.cqOff.overflow))
	r.cqMask = *(*uint32)(unsafe.Add(cq, p.cqOff.ringMask))
	r.cqEntries = *(*uint32)(unsafe.Add(cq, p.cqOff.ringEntries))
	r.cqes = unsafe.Add(cq, p.cqOff.cqes)
	r.sqeHead, r.sqeTail, r.sqHead = *r.kSQTail, *r.kSQTail, *r.kSQHead
	r.cqHead = *r.kCQHead
	return nil
}

// mmapErr maps a failed ring mmap: ENOMEM there is the memlock limit of
// kernels before 5.12 charging ring memory to RLIMIT_MEMLOCK.
func mmapErr(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unsupported("mmap", errno)
	}
	return fmt.Errorf("ring: mmap: %w", err)
}

// unmap releases every ring mapping (idempotent).
func (r *Ring) unmap() {
	munmap(r.sqes, r.sqeSize)
	munmap(r.cqRingMem, r.cqRingSize)
	munmap(r.sqRingMem, r.sqRingSize)
	r.sqes, r.cqRingMem, r.sqRingMem = nil, nil, nil
	r.kSQHead, r.kSQTail, r.kSQFlags = nil, nil, nil
	r.kCQHead, r.kCQTail, r.kCQOverflow, r.cqes = nil, nil, nil, nil
}

// Close unregisters the ring fd (if RegisterRingFd was called), closes the
// buffer rings, unmaps everything and closes the ring fd. Operations still in
// flight are cancelled, and Close waits (up to a few seconds) for those an
// io-wq worker runs; SQEs prepared but not submitted are dropped. A SEND_ZC
// whose notification has not come is the exception: the network stack keeps
// using its buffer until the data has left, and no notification comes after
// Close (see PrepSendZC). Close is idempotent: a second Close
// does nothing and returns nil; every other method afterwards returns
// ErrClosed (GetSQE nil, PeekBatch 0). Loop only: with a
// registered ring fd, Close must run on the thread that registered it.
func (r *Ring) Close() error {
	if r.closed {
		return nil
	}
	var errs []error
	// Cancel and wait for what is in flight: a request an io-wq worker runs
	// (a regular file read) would otherwise keep writing into the caller's
	// buffers, or the buffer rings' slabs, after Close returned.
	if err := r.cancelAllSync(); err != nil {
		// Not the ring's thread: tearing down now would leave in-flight
		// requests writing into the caller's memory after Close returned.
		return err
	}
	if r.regIndex >= 0 {
		errs = append(errs, r.unregisterRingFd())
	}
	brs := r.bufRings
	r.bufRings = nil // so BufRing.Close does not edit the slice we range over
	for _, b := range brs {
		if err := b.Close(); err != nil {
			// The kernel may still use the group until the ring is torn
			// down: leak the mapping rather than let it be reused.
			b.closed = true
			errs = append(errs, err)
		}
	}
	r.closed = true
	r.unmap()
	errs = append(errs, unix.Close(r.fd))
	r.fd, r.enterFd = -1, -1
	return errors.Join(errs...)
}

// Fd is the ring's file descriptor (-1 after Close). Loop only.
func (r *Ring) Fd() int { return r.fd }

// SetupFlags are the IORING_SETUP_* flags the ring was created with. Loop only.
func (r *Ring) SetupFlags() uint32 { return r.setupFlags }

// FeatFlags are the IORING_FEAT_* bits io_uring_setup reported. Loop only.
func (r *Ring) FeatFlags() uint32 { return r.features }

// SQEntries is the SQ size. Loop only.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }

// CQEntries is the CQ size. Loop only.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }
