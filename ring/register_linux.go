//go:build linux

package ring

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// register calls io_uring_register on the ring. EINTR is retried: some
// registrations wait for the ring's requests to quiesce and a signal aborts
// that wait before anything changed.
func (r *Ring) register(op uint32, arg unsafe.Pointer, nr uint32) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	for {
		n, errno := sysRegister(r.fd, op, arg, nr)
		if errno == 0 {
			return n, nil
		}
		if errno != unix.EINTR {
			return 0, errno
		}
	}
}

// RegisterFilesSparse registers a table of n empty file slots (5.19
// IORING_REGISTER_FILES2 with IORING_RSRC_REGISTER_SPARSE; older kernels get
// a table of -1 entries). Fill slots with UpdateFiles or direct accept.
// Loop only.
func (r *Ring) RegisterFilesSparse(n uint32) error {
	if n == 0 {
		return fmt.Errorf("ring: RegisterFilesSparse(0): %w", unix.EINVAL)
	}
	reg := rsrcRegister{nr: n, flags: rsrcRegisterSparse}
	_, err := r.register(registerFiles2, unsafe.Pointer(&reg), uint32(unsafe.Sizeof(reg)))
	if err != unix.EINVAL {
		return wrapReg("register files", err)
	}
	// EINVAL: kernel before 5.19 does not know REGISTER_FILES2 or SPARSE;
	// the older opcode accepts -1 for an empty slot.
	fds := make([]int32, n)
	for i := range fds {
		fds[i] = -1
	}
	_, err = r.register(registerFiles, unsafe.Pointer(&fds[0]), n)
	return wrapReg("register files", err)
}

// UpdateFiles sets registered file slots off, off+1, ... to fds (-1 empties
// a slot). Loop only.
func (r *Ring) UpdateFiles(off uint32, fds []int32) error {
	if len(fds) == 0 {
		return fmt.Errorf("ring: UpdateFiles with no fds: %w", unix.EINVAL)
	}
	// The kernel reads fds through an address inside up, a uintptr that
	// neither the GC nor stack copying updates. Storing fds in r makes it
	// escape, so it lives on the heap (which does not move) and stays
	// reachable until the call returns.
	r.updFds = fds
	up := filesUpdate{offset: off, fds: uint64(uintptr(unsafe.Pointer(&fds[0])))}
	n, err := r.register(registerFilesUpdate, unsafe.Pointer(&up), uint32(len(fds)))
	r.updFds = nil
	if err == nil && n != len(fds) {
		return fmt.Errorf("ring: update files: %d of %d updated", n, len(fds))
	}
	return wrapReg("update files", err)
}

// UnregisterFiles drops the registered file table. Loop only.
func (r *Ring) UnregisterFiles() error {
	_, err := r.register(unregisterFiles, nil, 0)
	return wrapReg("unregister files", err)
}

func wrapReg(what string, err error) error {
	if err == nil || err == ErrClosed {
		return err
	}
	return fmt.Errorf("ring: %s: %w", what, err)
}

// RegisterRingFd registers the ring's own fd with the calling thread
// (IORING_REGISTER_RING_FDS, 5.18), so io_uring_enter skips the fd table
// lookup (IORING_ENTER_REGISTERED_RING). The registration belongs to the
// calling OS thread: the goroutine must be locked to it and use the ring
// only there, including Close. Loop only.
func (r *Ring) RegisterRingFd() error {
	if r.closed {
		return ErrClosed
	}
	if r.regIndex >= 0 {
		return fmt.Errorf("ring: ring fd already registered: %w", unix.EEXIST)
	}
	up := rsrcUpdate{offset: ^uint32(0), data: uint64(r.fd)} // offset -1: any free slot
	n, err := r.register(registerRingFds, unsafe.Pointer(&up), 1)
	if err != nil {
		return wrapReg("register ring fd", err)
	}
	if n != 1 {
		return fmt.Errorf("ring: register ring fd: registered %d", n)
	}
	r.regIndex, r.regTid = int(up.offset), unix.Gettid()
	r.enterFd = r.regIndex
	r.enterFlags |= EnterRegisteredRing
	return nil
}

// unregisterRingFd undoes RegisterRingFd. The index is meaningful only on
// the registering thread (each thread has its own table): from any other
// thread it would remove someone else's entry, so we refuse; the entry is
// then released when that thread exits.
func (r *Ring) unregisterRingFd() error {
	idx := r.regIndex
	r.regIndex = -1
	r.enterFd = r.fd
	r.enterFlags &^= EnterRegisteredRing
	if tid := unix.Gettid(); tid != r.regTid {
		return fmt.Errorf("ring: ring fd registered on thread %d cannot be unregistered from thread %d: %w", r.regTid, tid, unix.EINVAL)
	}
	up := rsrcUpdate{offset: uint32(idx)}
	_, err := r.register(unregisterRingFds, unsafe.Pointer(&up), 1)
	return wrapReg("unregister ring fd", err)
}

// Probe is the list of opcodes the kernel supports (IORING_REGISTER_PROBE).
// It is immutable: its methods are safe from any goroutine.
type Probe struct {
	lastOp uint8
	flags  [probeOps]uint16
}

// Probe asks the kernel which opcodes it supports (5.6). Loop only.
func (r *Ring) Probe() (*Probe, error) {
	raw := new(rawProbe) // heap; the kernel writes it during the call only
	if _, err := r.register(registerProbe, unsafe.Pointer(raw), probeOps); err != nil {
		return nil, wrapReg("probe", err)
	}
	p := &Probe{lastOp: raw.hdr.lastOp}
	for i := 0; i < int(raw.hdr.opsLen) && i < probeOps; i++ {
		p.flags[raw.ops[i].op] = raw.ops[i].flags
	}
	return p, nil
}

// Supports reports whether op is supported. A nil Probe supports nothing.
func (p *Probe) Supports(op uint8) bool {
	return p != nil && op <= p.lastOp && p.flags[op]&opSupported != 0
}

// Ops lists the supported opcodes in increasing order.
func (p *Probe) Ops() []uint8 {
	var ops []uint8
	for op := 0; op < probeOps; op++ {
		if p.Supports(uint8(op)) {
			ops = append(ops, uint8(op))
		}
	}
	return ops
}

// cancelAllSync cancels every request in flight and returns once they have
// all completed (IORING_REGISTER_SYNC_CANCEL with CANCEL_ANY|CANCEL_ALL,
// 6.0). Close calls it before unmapping buffer rings: a request already
// holding a provided buffer (for example one punted to an io-wq worker)
// could otherwise write into memory that has been unmapped and reused.
// Errors are ignored: ENOENT means nothing was in flight, EINVAL a kernel
// without sync cancel (there ring teardown cancels asynchronously).
//
// With CANCEL_ALL the kernel does not wait for a request an io-wq worker is
// running: it asks the worker to stop and returns (a worker copying a regular
// file into its buffer does not stop; measured: 60 MB written into the slab
// after the cancel returned). A cancel without ALL does wait while its match
// runs, so a second pass cancels by opcode (CANCEL_OP, 6.6; older kernels
// answer EINVAL and keep the window) each op that can take a provided buffer.
// That wait ends only when the request's completion is posted, which on a
// DEFER_TASKRUN ring takes an enter with GETEVENTS from this thread (until
// then a cancelled request is found again, too): so each attempt waits at
// most cancelRetry, then runs the deferred work and tries again, within
// cancelAllMax in all.
func (r *Ring) cancelAllSync() error {
	reg := syncCancelReg{fd: -1, flags: CancelAny | CancelAll, timeout: kernelTimespec{sec: -1, nsec: -1}}
	if _, err := r.register(registerSyncCancel, unsafe.Pointer(&reg), 1); err == unix.EEXIST {
		// SINGLE_ISSUER ring, other thread: the kernel refuses every
		// registration, so nothing was cancelled and nothing can be.
		return ErrWrongThread
	}
	deadline := time.Now().Add(cancelAllMax)
	for _, op := range bufferSelectOps {
		for time.Now().Before(deadline) {
			reg := syncCancelReg{fd: -1, flags: CancelOp, opcode: op,
				timeout: kernelTimespec{nsec: int64(cancelRetry)}}
			_, err := r.register(registerSyncCancel, unsafe.Pointer(&reg), 1)
			if err != nil && err != unix.ETIME {
				break // ENOENT: none left; EINVAL: no CANCEL_OP
			}
			// One cancelled (nil), or one still running (ETIME): post the completions
			// the kernel deferred to this thread, else the same request is found
			// again, and look for another. flushCQ submits nothing: SQEs the
			// caller prepared and never submitted must not run at Close.
			r.flushCQ()
		}
	}
	return nil
}

// bufferSelectOps are the ops that can pick a provided buffer.
var bufferSelectOps = [...]uint8{OpRead, OpReadv, OpRecv, OpRecvmsg, OpReadMultishot, OpSend, OpSendmsg}

// cancelAllMax bounds cancelAllSync's wait for io-wq workers; cancelRetry is
// one attempt's.
const (
	cancelAllMax = 5 * time.Second
	cancelRetry  = 10 * time.Millisecond
)
