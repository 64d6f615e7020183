//go:build linux

package ring

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// One thin Prep method per opcode over prepRW (liburing: io_uring_prep_rw
// and the prep block of liburing.h). GetSQE zeroes the SQE, so each prep
// sets only its own fields.
//
// Memory: every pointer or slice passed here is used by the kernel after
// Submit returns, until the operation's last CQE (for SEND_ZC, its
// notification CQE). The caller keeps it alive and unmoved: heap memory it
// still references, or off-heap memory. See the package documentation.

// prepRW fills the fields shared by most opcodes.
//
// liburing: io_uring_prep_rw.
func (s *SQE) prepRW(op uint8, fd int32, addr uint64, length uint32, off uint64) {
	s.Opcode = op
	s.Fd = fd
	s.Addr = addr
	s.Len = length
	s.Off = off
}

// bufAddr is the address of buf's first byte, 0 for an empty slice.
func bufAddr(buf []byte) uint64 {
	if len(buf) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
}

// ptrAddr is p as an address for the kernel (the caller keeps *p alive).
func ptrAddr[T any](p *T) uint64 { return uint64(uintptr(unsafe.Pointer(p))) }

// SetUserData sets the value returned in the CQE. Never a Go pointer.
func (s *SQE) SetUserData(u uint64) { s.UserData = u }

// SetFlags adds IOSQE_* flags (SQEIOLink, SQECQESkipSuccess, ...) to those
// the prep set (PrepRecvSelect already sets SQEBufferSelect).
func (s *SQE) SetFlags(f uint8) { s.Flags |= f }

// SetBufGroup sets the provided buffer group (with SQEBufferSelect).
func (s *SQE) SetBufGroup(g uint16) { s.BufIndex = g }

// PrepNop prepares a no-op, which completes with Res 0.
func (s *SQE) PrepNop() { s.prepRW(OpNop, -1, 0, 0, 0) }

// PrepAccept prepares accept4 on the listening socket fd. addr and addrLen
// may be nil; otherwise *addrLen holds the size of *addr and the kernel
// writes the peer address into them. flags are accept4 flags (SOCK_CLOEXEC).
// The CQE's Res is the new fd.
func (s *SQE) PrepAccept(fd int, addr *unix.RawSockaddrAny, addrLen *uint32, flags uint32) {
	s.prepRW(OpAccept, int32(fd), ptrAddr(addr), 0, ptrAddr(addrLen))
	s.OpFlags = flags
}

// PrepAcceptMultishot is PrepAccept that stays armed: one CQE per
// connection, with CQEFMore while it stays armed (5.19).
func (s *SQE) PrepAcceptMultishot(fd int, addr *unix.RawSockaddrAny, addrLen *uint32, flags uint32) {
	s.PrepAccept(fd, addr, addrLen, flags)
	s.Ioprio |= AcceptMultishot
}

// PrepAcceptDirect accepts straight into registered file slot fileIndex
// (or FileIndexAlloc for a free slot, whose index is then the CQE's Res).
func (s *SQE) PrepAcceptDirect(fd int, fileIndex uint32, flags uint32) {
	s.PrepAccept(fd, nil, nil, flags)
	s.setTargetFixedFile(fileIndex)
}

// setTargetFixedFile encodes a registered file slot as the kernel wants it:
// index+1, with FileIndexAlloc (all ones) kept as is.
//
// liburing: __io_uring_set_target_fixed_file.
func (s *SQE) setTargetFixedFile(fileIndex uint32) {
	if fileIndex == FileIndexAlloc {
		s.FileIndex = FileIndexAlloc
		return
	}
	s.FileIndex = fileIndex + 1
}

// PrepConnect prepares connect(fd, addr, addrLen).
func (s *SQE) PrepConnect(fd int, addr *unix.RawSockaddrAny, addrLen uint32) {
	s.prepRW(OpConnect, int32(fd), ptrAddr(addr), 0, uint64(addrLen))
}

// PrepRecv prepares recv(fd, buf, flags) into the caller's buffer.
func (s *SQE) PrepRecv(fd int, buf []byte, flags uint32) {
	s.prepRW(OpRecv, int32(fd), bufAddr(buf), uint32(len(buf)), 0)
	s.OpFlags = flags
}

// PrepRecvSelect prepares one recv into a buffer the kernel picks from
// provided buffer group group (the CQE carries its id, see CQE.BufID).
func (s *SQE) PrepRecvSelect(fd int, group uint16, flags uint32) {
	s.prepRW(OpRecv, int32(fd), 0, 0, 0)
	s.OpFlags = flags
	s.Flags |= SQEBufferSelect
	s.BufIndex = group
}

// PrepRecvMultishot is PrepRecvSelect that stays armed: one CQE per chunk
// of data, each in its own provided buffer, with CQEFMore while armed (6.0).
// It ends (no CQEFMore) on EOF, on error, and with -ENOBUFS when the group
// runs out of buffers; then recycle buffers and re-arm.
func (s *SQE) PrepRecvMultishot(fd int, group uint16, flags uint32) {
	s.PrepRecvSelect(fd, group, flags)
	s.Ioprio |= RecvMultishot
}

// PrepRecvBundle is PrepRecvMultishot where one CQE may fill several
// consecutive buffers of the ring (IORING_RECVSEND_BUNDLE, 6.10): Res bytes
// start in buffer BufID and continue in the buffers published after it.
func (s *SQE) PrepRecvBundle(fd int, group uint16, flags uint32) {
	s.PrepRecvMultishot(fd, group, flags)
	s.Ioprio |= RecvsendBundle
}

// LimitRecv caps the bytes of each CQE of the multishot recv s prepares at
// n (the SQE's len). Only kernels with CapRecvLimit accept it; older ones
// fail the recv with -EINVAL.
func (s *SQE) LimitRecv(n uint32) { s.Len = n }

// PrepSend prepares send(fd, buf, flags).
func (s *SQE) PrepSend(fd int, buf []byte, flags uint32) {
	s.prepRW(OpSend, int32(fd), bufAddr(buf), uint32(len(buf)), 0)
	s.OpFlags = flags
}

// PrepSendBundle sends the buffers queued in provided buffer group group,
// several per request (IORING_RECVSEND_BUNDLE, 6.10).
func (s *SQE) PrepSendBundle(fd int, group uint16, flags uint32) {
	s.prepRW(OpSend, int32(fd), 0, 0, 0)
	s.OpFlags = flags
	s.Flags |= SQEBufferSelect
	s.BufIndex = group
	s.Ioprio |= RecvsendBundle
}

// PrepSendZC prepares a zero-copy send (6.0). It posts two CQEs: the result
// (with CQEFMore), then a notification (CQEFNotif) once the kernel no longer
// reads buf; only then may buf be reused. zcFlags are IORING_RECVSEND_* /
// SendZCReportUsage bits. Closing the Ring does not end that use (bytes
// still queued on the socket keep referring to buf) and no notification
// comes after Close: reap every notification before Close, or keep such
// buffers alive for good.
func (s *SQE) PrepSendZC(fd int, buf []byte, flags uint32, zcFlags uint16) {
	s.prepRW(OpSendZC, int32(fd), bufAddr(buf), uint32(len(buf)), 0)
	s.OpFlags = flags
	s.Ioprio = zcFlags
}

// PrepSendmsg prepares sendmsg(fd, msg, flags). msg, its iovecs, buffers,
// name and control data belong to the kernel until the CQE.
func (s *SQE) PrepSendmsg(fd int, msg *unix.Msghdr, flags uint32) {
	s.prepRW(OpSendmsg, int32(fd), ptrAddr(msg), 1, 0)
	s.OpFlags = flags
}

// PrepRecvmsg prepares recvmsg(fd, msg, flags); same ownership as PrepSendmsg.
func (s *SQE) PrepRecvmsg(fd int, msg *unix.Msghdr, flags uint32) {
	s.prepRW(OpRecvmsg, int32(fd), ptrAddr(msg), 1, 0)
	s.OpFlags = flags
}

// PrepRead prepares pread(fd, buf, off); off ^uint64(0) means the current
// file position.
func (s *SQE) PrepRead(fd int, buf []byte, off uint64) {
	s.prepRW(OpRead, int32(fd), bufAddr(buf), uint32(len(buf)), off)
}

// PrepWrite prepares pwrite(fd, buf, off); off ^uint64(0) means the current
// file position.
func (s *SQE) PrepWrite(fd int, buf []byte, off uint64) {
	s.prepRW(OpWrite, int32(fd), bufAddr(buf), uint32(len(buf)), off)
}

// PrepClose prepares close(fd). A close does not end requests pending on
// the fd (no CQE, no FIN): shut down or cancel them first.
func (s *SQE) PrepClose(fd int) { s.prepRW(OpClose, int32(fd), 0, 0, 0) }

// PrepCloseDirect closes registered file slot fileIndex.
func (s *SQE) PrepCloseDirect(fileIndex uint32) {
	s.PrepClose(0)
	s.setTargetFixedFile(fileIndex)
}

// PrepShutdown prepares shutdown(fd, how) (unix.SHUT_RD/WR/RDWR). Pending
// receives on fd complete with Res 0 and the peer sees FIN.
func (s *SQE) PrepShutdown(fd int, how int) {
	s.prepRW(OpShutdown, int32(fd), 0, uint32(how), 0)
}

// PrepCancel cancels the request whose user data is userData; flags may add
// CancelAll to cancel every such request. The CQE's Res is 0 (or the count
// with CancelAll), -ENOENT if none was found, -EALREADY if it was running.
func (s *SQE) PrepCancel(userData uint64, flags uint32) {
	s.prepRW(OpAsyncCancel, -1, userData, 0, 0)
	s.OpFlags = flags
}

// PrepCancelFd cancels the requests on fd (CancelFd; flags may add CancelAll
// or CancelFdFixed). The cancelled requests complete with -ECANCELED.
func (s *SQE) PrepCancelFd(fd int, flags uint32) {
	s.prepRW(OpAsyncCancel, int32(fd), 0, 0, 0)
	s.OpFlags = flags | CancelFd
}

// PrepTimeout prepares a timeout that completes with -ETIME after ts, or
// with 0 once count other completions were posted (count 0: time only).
// flags are Timeout* bits.
func (s *SQE) PrepTimeout(ts *unix.Timespec, count uint32, flags uint32) {
	s.prepRW(OpTimeout, -1, ptrAddr(ts), 1, uint64(count))
	s.OpFlags = flags
}

// PrepLinkTimeout bounds the previous SQE, which must carry SQEIOLink: if it
// has not completed after ts it is cancelled.
func (s *SQE) PrepLinkTimeout(ts *unix.Timespec, flags uint32) {
	s.prepRW(OpLinkTimeout, -1, ptrAddr(ts), 1, 0)
	s.OpFlags = flags
}

// PrepMsgRing posts a CQE {userData, res} on the ring whose fd is fd
// (IORING_MSG_DATA, 5.18), waking a loop blocked in that ring. The sender
// gets its own CQE too (Res 0) unless the SQE has SQECQESkipSuccess. flags
// may be MsgRingFlagsPass.
func (s *SQE) PrepMsgRing(fd int, res uint32, userData uint64, flags uint32) {
	s.prepRW(OpMsgRing, int32(fd), msgData, res, userData)
	s.OpFlags = flags
}

// PrepPollAdd waits once for poll events (unix.POLLIN, ...) on fd; Res is
// the ready mask. The 32-bit events field is written in native byte order
// (liburing swaps halves on big-endian; only little-endian is tested).
func (s *SQE) PrepPollAdd(fd int, events uint32) {
	s.prepRW(OpPollAdd, int32(fd), 0, 0, 0)
	s.OpFlags = events
}

// PrepPollMultishot is PrepPollAdd that stays armed (5.13), with CQEFMore.
func (s *SQE) PrepPollMultishot(fd int, events uint32) {
	s.PrepPollAdd(fd, events)
	s.Len = PollAddMulti
}

// PrepSocket prepares socket(domain, typ, proto) (5.19); flags must be 0.
// Res is the new fd.
func (s *SQE) PrepSocket(domain, typ, proto int, flags uint32) {
	s.prepRW(OpSocket, int32(domain), 0, uint32(proto), uint64(typ))
	s.OpFlags = flags
}
