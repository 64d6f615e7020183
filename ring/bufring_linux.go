//go:build linux

package ring

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BufRing is a provided buffer ring (IORING_REGISTER_PBUF_RING, 5.19): count
// buffers of size bytes the kernel picks from for receives with buffer
// select. Both the ring of entries and the buffers (one slab) are anonymous
// mmap memory, off the Go heap: the GC neither scans nor moves them, and the
// kernel may write into them at any time while a buffer is published.
//
// Ownership of a buffer id: published (the kernel may fill it) until a CQE
// names it with CQEFBuffer (and, for incremental rings, without
// CQEFBufMore); then the caller's until it calls Recycle and Publish. Recycle
// each id exactly once per CQE that handed it out. Loop only.
type BufRing struct {
	r        *Ring
	ring     unsafe.Pointer // count bufEntry (mmap); the 16-bit tail overlays entry 0's resv
	ringSize uintptr
	slab     unsafe.Pointer // count*size bytes (mmap); buffer id i is at i*size
	slabSize uintptr
	group    uint16
	count    uint32
	size     uint32
	tail     uint16   // staged tail; Publish hands it to the kernel
	inc      bool     // IOU_PBUF_RING_INC
	used     []uint32 // incremental rings: bytes of each buffer already delivered
	order    []uint16 // id staged in each ring slot (slot = position & (count-1))
	pos      []uint16 // ring position at which each id was last staged
	closed   bool
}

// NewBufRing registers a provided buffer ring for group with count buffers
// (a power of two, at most 32768) of size bytes each, and publishes them all.
// flags may be PbufRingInc (incremental consumption, 6.12): a buffer then
// serves several receives, each CQE carrying CQEFBufMore until the kernel is
// done with it. Loop only.
func (r *Ring) NewBufRing(group uint16, count uint32, size uint32, flags uint32) (*BufRing, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if count == 0 || count > maxBufRing || count&(count-1) != 0 {
		return nil, fmt.Errorf("ring: buffer ring count %d is not a power of two in [1, %d]: %w", count, maxBufRing, unix.EINVAL)
	}
	if size == 0 {
		return nil, fmt.Errorf("ring: buffer ring with zero-length buffers: %w", unix.EINVAL)
	}
	if flags&^PbufRingInc != 0 {
		return nil, fmt.Errorf("ring: buffer ring flags %#x: %w", flags, unix.EINVAL)
	}
	b := &BufRing{r: r, group: group, count: count, size: size, inc: flags&PbufRingInc != 0}
	b.ringSize = uintptr(count) * unsafe.Sizeof(bufEntry{})
	b.slabSize = uintptr(count) * uintptr(size)
	var err error
	if b.ring, err = mmapAnon(b.ringSize); err != nil {
		return nil, fmt.Errorf("ring: buffer ring mmap: %w", err)
	}
	if b.slab, err = mmapAnon(b.slabSize); err != nil {
		munmap(b.ring, b.ringSize)
		return nil, fmt.Errorf("ring: buffer slab mmap: %w", err)
	}
	reg := bufReg{ringAddr: uint64(uintptr(b.ring)), ringEntries: count, bgid: group, flags: uint16(flags)}
	if _, err := r.register(registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		b.unmap()
		return nil, fmt.Errorf("ring: register buffer ring %d: %w", group, err)
	}
	if b.inc {
		b.used = make([]uint32, count)
	}
	b.order = make([]uint16, count)
	b.pos = make([]uint16, count)
	for id := uint32(0); id < count; id++ {
		b.stage(uint16(id))
	}
	b.Publish()
	r.bufRings = append(r.bufRings, b)
	return b, nil
}

// entry is the ring entry in slot i&mask (inside the ring mapping).
func (b *BufRing) entry(i uint16) *bufEntry {
	return (*bufEntry)(unsafe.Add(b.ring, uintptr(uint32(i)&(b.count-1))*unsafe.Sizeof(bufEntry{})))
}

// stage writes buffer id into the next free slot. Plain stores: the kernel
// reads the slot only after Publish's store-release of the tail.
func (b *BufRing) stage(id uint16) {
	e := b.entry(b.tail)
	e.addr = uint64(uintptr(b.slab)) + uint64(id)*uint64(b.size)
	e.len = b.size
	e.bid = id
	b.order[uint32(b.tail)&(b.count-1)] = id
	b.pos[id] = b.tail
	b.tail++
	if b.inc {
		b.used[id] = 0
	}
}

// Buf is the whole buffer id (a slice of the off-heap slab), nil if id is
// out of range or the ring is closed. The slice must not be used after
// Close. Loop only.
func (b *BufRing) Buf(id uint16) []byte {
	if b.closed || uint32(id) >= b.count {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(b.slab, uintptr(id)*uintptr(b.size))), b.size)
}

// Span is n bytes of the slab from the start of buffer id on: buffers
// id, id+1, ... are adjacent in the slab, so a bundle that the kernel filled
// into consecutive ids can be read as one slice. It is nil if the span leaves
// the slab or the ring is closed. Loop only.
func (b *BufRing) Span(id uint16, n int) []byte {
	off := uint64(id) * uint64(b.size)
	if b.closed || n < 0 || uint32(id) >= b.count || off+uint64(n) > uint64(b.slabSize) {
		return nil
	}
	// The slab is mapped until Close, which the loop calls only after its
	// last use of any slice (same lifetime as Buf).
	return unsafe.Slice((*byte)(unsafe.Add(b.slab, uintptr(off))), n)
}

// Data is the bytes a receive CQE delivered into its provided buffer, or nil
// if the CQE carries no buffer of this ring or no data. A bundle CQE
// (PrepRecvBundle) fills the buffers staged after its first one, in ring
// order: Data returns them as one slice when those buffers are adjacent in
// the slab, else nil (use Each). For an incremental ring it tracks where in
// the buffer each CQE's data starts; call Data or Each once per CQE, in CQE
// order, before recycling buffers of later CQEs. Loop only.
func (b *BufRing) Data(c *CQE) []byte {
	first, start, next := -1, uint64(0), uint64(0)
	adjacent := true
	ok := b.walk(c, func(id uint16, off, n uint32) {
		at := uint64(id)*uint64(b.size) + uint64(off)
		if first < 0 {
			first, start = int(id), at
		} else if at != next {
			adjacent = false
		}
		next = at + uint64(n)
	})
	if !ok || !adjacent {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(b.slab, uintptr(start))), int(c.Res))
}

// Each calls fn, in order, for every buffer the receive CQE c filled, with
// the buffer id and the bytes delivered into it; it reports false (calling
// fn for nothing) when c carries no buffer of this ring or no data. Every id
// it names must be recycled (for an incremental ring, the last one only
// once the kernel is done with it: without CQEFBufMore). Same rules as Data,
// which it replaces for a CQE. Loop only.
func (b *BufRing) Each(c *CQE, fn func(id uint16, data []byte)) bool {
	return b.walk(c, func(id uint16, off, n uint32) {
		fn(id, b.Buf(id)[off:off+n])
	})
}

// walk finds the buffers holding c's data: the first is c.BufID (from its
// incremental offset on), the next ones those staged after it.
func (b *BufRing) walk(c *CQE, fn func(id uint16, off, n uint32)) bool {
	if b.closed || c.Res <= 0 || !c.HasBuffer() || uint32(c.BufID()) >= b.count {
		return false
	}
	id := c.BufID()
	off := uint32(0)
	if b.inc {
		off = b.used[id]
	}
	// Check the whole span before calling fn or touching used.
	left := uint64(c.Res)
	p := b.pos[id]
	for i, o := uint32(0), off; ; i++ {
		if i == b.count || o > b.size {
			return false
		}
		n := min(left, uint64(b.size-o))
		left -= n
		if left == 0 {
			break
		}
		o = 0
		if b.inc && b.used[b.order[uint32(p+uint16(i)+1)&(b.count-1)]] != 0 {
			o = b.size + 1 // a later buffer already partly used: inconsistent
		}
	}
	left = uint64(c.Res)
	for i := uint16(0); left > 0; i++ {
		if i > 0 {
			id, off = b.order[uint32(p+i)&(b.count-1)], 0
		}
		n := uint32(min(left, uint64(b.size-off)))
		if b.inc {
			b.used[id] = off + n
		}
		fn(id, off, n)
		left -= uint64(n)
	}
	return true
}

// Recycle stages buffer id to be handed back to the kernel; it becomes
// visible at the next Publish. It fails if id is out of range or the ring
// is closed. Loop only.
func (b *BufRing) Recycle(id uint16) error {
	if b.closed {
		return ErrClosed
	}
	if uint32(id) >= b.count {
		return fmt.Errorf("ring: buffer id %d out of range [0, %d): %w", id, b.count, unix.EINVAL)
	}
	b.stage(id)
	return nil
}

// Publish makes the recycled buffers visible to the kernel with one atomic
// 32-bit store (see bufRingTailStore). Loop only.
func (b *BufRing) Publish() {
	if b.closed {
		return
	}
	bid0 := (*bufEntry)(b.ring).bid // we are the only writer of this field
	bufRingTailStore(b.ring, bid0, b.tail)
}

// Group is the buffer group id. Loop only.
func (b *BufRing) Group() uint16 { return b.group }

// Count is the number of buffers. Loop only.
func (b *BufRing) Count() uint32 { return b.count }

// Size is the size of each buffer. Loop only.
func (b *BufRing) Size() uint32 { return b.size }

// Close unregisters the ring from the kernel (unless the Ring is already
// closed) and unmaps its memory. Slices from Buf and Data become invalid.
// A second Close returns nil. Loop only.
//
// No request that may select a buffer from it may be in flight: one that
// picked a buffer before the unregister can still write into the slab.
// Ring.Close closes its buffer rings after cancelling every request and
// waiting for it, so closing the Ring alone is always safe.
func (b *BufRing) Close() error {
	if b.closed {
		return nil
	}
	if !b.r.closed {
		reg := bufReg{bgid: b.group}
		if _, e := b.r.register(unregisterPbufRing, unsafe.Pointer(&reg), 1); e != nil {
			// Still registered (for example EEXIST: not the SINGLE_ISSUER
			// thread): the kernel may go on picking these buffers and
			// writing into the slab, so keep it mapped and the BufRing
			// open; the caller may retry from the right thread.
			return fmt.Errorf("ring: unregister buffer ring %d: %w", b.group, e)
		}
		for i, x := range b.r.bufRings {
			if x == b {
				b.r.bufRings = append(b.r.bufRings[:i], b.r.bufRings[i+1:]...)
				break
			}
		}
	}
	b.closed = true
	// After unregistering (or ring teardown) no new receive can pick these
	// buffers; the caller guarantees no request that picked one is still in
	// flight (see above), so nothing writes into the slab once it is unmapped.
	return b.unmap()
}

func (b *BufRing) unmap() error {
	err := errors.Join(munmap(b.slab, b.slabSize), munmap(b.ring, b.ringSize))
	b.slab, b.ring = nil, nil
	return err
}
