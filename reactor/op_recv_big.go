//go:build linux

package reactor

import (
	"github.com/ringo-io/ringo/ring"
)

// The big ring: large reads on io_uring.
//
// The main buffer ring's 16 KiB buffers suit what most conns read, but a
// conn that reads 64 KiB messages takes four of them per message, scattered
// over the slab once many conns recycle buffers in mixed order, so each
// message was copied once more to be delivered whole (gatherMax). Measured,
// 64 KiB echo cost io_uring 1.07-1.10x the epoll backend, which reads every
// message into one hot buffer.
//
// A conn whose read brings bigMark bytes or more therefore moves to a second
// ring of bigCount large buffers consumed incrementally (IOU_PBUF_RING_INC,
// 6.12): each receive starts where the previous one, of any conn, stopped,
// so a message lands in one buffer, or runs on into the next, and the ring
// recycles buffers in the order the kernel finished them, so the next buffer
// is almost always the adjacent one in the slab: one slice, no copy. The
// ring stays small (1 MiB a loop, all of it published), so the kernel writes
// memory that is still in cache.
//
// Bound. Every recv from the big ring is capped at bigRecvMax bytes per CQE
// (CapRecvLimit): the most one delivery can add to a conn's queue. (Main
// ring recvs get the same cap, mainRecvMax.)
// Kernels without the cap (it came after 6.12: 6.17 as far as I can tell),
// without incremental buffers (6.12) or without bundles have no big ring.
//
// Moving. The conn's multishot recv is cancelled and re-armed on the other
// ring once its final CQE comes (the re-arm in recvDone), so every CQE of one
// recv names buffers of one ring (c.recvBig, set at arm; the op in its user
// data, opRecvBig, says the same for a CQE whose conn is gone). A conn on the big
// ring whose reads stay below smallMark for smallRunMax reads in a row moves
// back, so a proxy's conn that streamed a file and went back to small
// requests does not keep reading into the shared large buffers.
//
// Buffer ownership. A buffer is the kernel's while published; a CQE hands
// the loop the bytes it names, which the core delivers (and copies if kept)
// before recvDone returns. The kernel is done with a buffer when a CQE ends
// in it without BUF_MORE, or runs on past it; only then does the buffer go
// back (bigRing.recycle), reset to its start.
const (
	bigBufSize  = 64 << 10
	bigCountMax = 16
	bigRecvMax  = 64 << 10
	bigMark     = 32 << 10
	smallMark   = 4 << 10
	smallRunMax = 64
	bigGroup    = 1 // the main ring is group 0
)

// bigRing is the big ring's state (loop only).
type bigRing struct {
	br          *ring.BufRing
	order       []uint16 // ring position & mask -> buffer id
	pos         []uint16 // buffer id -> ring position
	fill        []uint32 // buffer id -> bytes the kernel has written into it
	tail        uint16   // next ring position a recycled buffer takes
	mask        uint16
	free        []uint16 // finished buffers, in the order the kernel finished them
	ids         []uint16 // walk's result, reused
	needPublish bool
}

// bigCount is the number of big buffers for a main ring of mainBytes: a
// quarter of its memory, at most bigCountMax buffers, a power of two; 0
// (no big ring) below 4 buffers, so a small configured ring bounds the
// memory a loop reads into as before.
func bigCount(mainBytes int) int {
	n := 1
	for n*2*bigBufSize <= mainBytes/4 && n < bigCountMax {
		n *= 2
	}
	if n*bigBufSize > mainBytes/4 || n < 4 {
		return 0
	}
	return n
}

func newBigRing(r *ring.Ring, count int) (*bigRing, error) {
	br, err := r.NewBufRing(bigGroup, uint32(count), bigBufSize, ring.PbufRingInc)
	if err != nil {
		return nil, err
	}
	g := &bigRing{br: br, order: make([]uint16, count), pos: make([]uint16, count),
		fill: make([]uint32, count), free: make([]uint16, 0, count), mask: uint16(count - 1)}
	for i := range uint16(count) { // NewBufRing publishes id i at position i
		g.order[i], g.pos[i] = i, i
	}
	g.tail = uint16(count)
	return g, nil
}

// publish hands the finished buffers back, in order, before the next submit.
func (g *bigRing) publish() {
	for _, id := range g.free {
		if g.br.Recycle(id) != nil {
			break // closed
		}
		g.fill[id] = 0
		g.order[g.tail&g.mask] = id
		g.pos[id] = g.tail
		g.tail++
	}
	g.free = g.free[:0]
	g.br.Publish()
	g.needPublish = false
}

// walk accounts for the res bytes of a CQE. They start in the CQE's buffer
// where the kernel stopped last time (fill) and run on from the start of
// the buffers at the next ring positions. It returns the buffers they span,
// the offset in the first, and how many of them (from the first) the kernel
// is done with. flags only names the first buffer.
func (g *bigRing) walk(res int32, flags uint32) (ids []uint16, first, done int) {
	bid := uint16(flags >> ring.CQEBufferShift)
	first = int(g.fill[bid])
	left := uint32(res)
	ids = g.ids[:0]
	for p := g.pos[bid]; left > 0 && len(ids) < len(g.order); p++ {
		id := g.order[p&g.mask]
		n := min(left, bigBufSize-g.fill[id])
		g.fill[id] += n
		left -= n
		ids = append(ids, id)
	}
	g.ids = ids
	// The kernel is done with a buffer once it has filled it to the end
	// (the rule of its incremental commit); only the last one can be
	// partly filled. The CQE's BUF_MORE flag says the same; the fill is
	// used because it cannot be wrong about a buffer the kernel still
	// writes (a stale or missing flag, as in a kernel bug fixed in 2026,
	// would otherwise recycle it, or leak it).
	done = len(ids)
	if done > 0 && g.fill[ids[done-1]] < bigBufSize {
		done--
	}
	return ids, first, done
}

// recycle queues the buffers the kernel is done with for publish.
func (g *bigRing) recycle(ids []uint16) {
	if len(ids) > 0 {
		g.free = append(g.free, ids...)
		g.needPublish = true
	}
}

// deliverBig hands the bytes of a big-ring CQE to the core (deliverSpans),
// then recycles the finished buffers.
func (b *uringBackend) deliverBig(c *Conn, res int32, flags uint32) {
	g := b.big
	ids, off, done := g.walk(res, flags)
	b.nBig++
	if res < smallMark {
		if c.smallRun++; c.smallRun >= smallRunMax {
			b.moveRing(c, false)
		}
	} else {
		c.smallRun = 0
	}
	b.deliverSpans(c, g.br, ids, off, int(res))
	g.recycle(ids[:done])
}

// discardBig finishes the buffers of a big-ring CQE nobody reads.
func (b *uringBackend) discardBig(res int32, flags uint32) {
	if res > 0 {
		ids, _, done := b.big.walk(res, flags)
		b.big.recycle(ids[:done])
	}
}

// moveRing makes c's next recv use the big ring (big) or the main ring,
// cancelling the armed one (recvDone re-arms after its final CQE).
func (b *uringBackend) moveRing(c *Conn, big bool) {
	c.bigIn, c.smallRun = big, 0
	b.nMoves++
	if c.recvArmed && !c.recvCancel {
		b.cancel(c, recvOp(c))
		c.recvCancel = true
	}
}
