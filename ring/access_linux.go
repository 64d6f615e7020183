//go:build linux

package ring

import (
	"sync/atomic"
	"unsafe"
)

// Every load and store of memory shared with the kernel's ring heads, tails
// and flags goes through this file. Each accessor names the liburing rule it
// meets.
//
// Go's sync/atomic operations are sequentially consistent (the Go memory
// model, "Atomic values"): an atomic load is at least a load-acquire and an
// atomic store at least a store-release. On amd64 a 32-bit atomic load is a
// plain MOV and a store is an XCHG; on arm64 they are LDAR/STLR. So where
// liburing needs acquire/release, or only READ_ONCE/WRITE_ONCE, we use the
// sync/atomic operation and rely on it being stronger, rather than dropping
// the reason. SQE and CQE contents themselves are plain memory: they are
// ordered by these accessors.

// sqHeadLoad reads the SQ head, which the kernel advances as it consumes
// SQEs. liburing: io_uring_get_sqe reads khead with READ_ONCE (relaxed)
// without SQPOLL, with io_uring_smp_load_acquire under SQPOLL. Ours is
// acquire, which covers both.
func sqHeadLoad(kHead *uint32) uint32 { return atomic.LoadUint32(kHead) }

// sqTailStore publishes SQEs to the kernel. liburing: __io_uring_flush_sq
// uses io_uring_smp_store_release on ktail so the SQE writes before it are
// visible to the kernel before the new tail is.
func sqTailStore(kTail *uint32, tail uint32) { atomic.StoreUint32(kTail, tail) }

// sqFlagsLoad reads the SQ flags (IORING_SQ_CQ_OVERFLOW, IORING_SQ_TASKRUN).
// liburing: cq_ring_needs_flush reads them with IO_URING_READ_ONCE; under
// SQPOLL sq_ring_needs_enter first issues io_uring_smp_mb, a full barrier
// between the tail store and this load. A sequentially consistent load after
// the sequentially consistent tail store gives that order; we do not use
// SQPOLL anyway.
func sqFlagsLoad(kFlags *uint32) uint32 { return atomic.LoadUint32(kFlags) }

// cqTailLoad reads the CQ tail. liburing: io_uring_cq_ready and
// __io_uring_peek_cqe use io_uring_smp_load_acquire on ktail, so the CQE
// contents read afterwards are those the kernel wrote before advancing it.
func cqTailLoad(kTail *uint32) uint32 { return atomic.LoadUint32(kTail) }

// cqHeadStore returns CQ slots to the kernel. liburing: io_uring_cq_advance
// uses io_uring_smp_store_release on khead, so our reads of the CQEs finish
// before the kernel may overwrite those slots.
func cqHeadStore(kHead *uint32, head uint32) { atomic.StoreUint32(kHead, head) }

// cqOverflowLoad reads the kernel's count of CQEs dropped on overflow
// (only non-zero without IORING_FEAT_NODROP). liburing reads koverflow with
// IO_URING_READ_ONCE.
func cqOverflowLoad(kOverflow *uint32) uint32 { return atomic.LoadUint32(kOverflow) }

// bufRingTailStore publishes provided buffers. The ring's tail is the 16-bit
// field at byte offset 14 (it overlays resv of entry 0) and Go has no 16-bit
// atomic, so we store the aligned 32-bit word at offset 12 whose low half is
// entry 0's buffer id, unchanged, and whose high half is the new tail. The
// kernel never writes that id, and we are its only writer, so rewriting it
// with its own value is harmless. liburing: io_uring_buf_ring_advance uses
// io_uring_smp_store_release on the tail so that the entries written before
// it are visible first. The word is built in native byte order by
// bufTailWord.
func bufRingTailStore(ring unsafe.Pointer, bid0, tail uint16) {
	atomic.StoreUint32((*uint32)(unsafe.Add(ring, 12)), bufTailWord(bid0, tail))
}

// bufTailWord lays out the two 16-bit fields at offsets 12 (bid of entry 0)
// and 14 (tail) as the 32-bit word at offset 12, in native byte order.
func bufTailWord(bid0, tail uint16) uint32 {
	var w uint32
	h := (*[2]uint16)(unsafe.Pointer(&w)) // same size and alignment ≤ uint32's
	h[0], h[1] = bid0, tail
	return w
}
