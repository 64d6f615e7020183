//go:build linux

package ring

// Kernel ABI of io_uring (include/uapi/linux/io_uring.h): structs, opcodes
// and flags only. Every struct here is checked by abi_test.go for its size
// and field offsets. No logic lives in this file.

// SQE is the kernel's struct io_uring_sqe (64 bytes). Unions are named after
// their most common member; the Prep methods fill the right one. An SQE from
// GetSQE lives in the ring's shared memory and belongs to the ring's loop
// until the next Submit*: its methods are loop only.
//
// Pointers and user data: Addr, Off and Addr3 carry raw addresses. The memory
// they point to (buffers, sockaddrs, msghdrs, timespecs) is read or written
// by the kernel after Submit, so the caller must keep it alive and unmoved
// until the operation's last CQE: heap memory still referenced by the caller
// (never a goroutine stack, which can move) or off-heap (mmap) memory.
// UserData is an opaque integer and must never encode a Go pointer: the GC
// does not see it, so the object could be freed or reused while in flight.
type SQE struct {
	Opcode      uint8  // IORING_OP_*
	Flags       uint8  // IOSQE_* (SQEFixedFile, SQEIOLink, ...)
	Ioprio      uint16 // ioprio; send/recv/accept use it for op flags
	Fd          int32  // file descriptor (or index with SQEFixedFile)
	Off         uint64 // off / addr2 / cmd_op
	Addr        uint64 // addr / splice_off_in
	Len         uint32 // len
	OpFlags     uint32 // rw_flags, msg_flags, poll32_events, accept_flags, cancel_flags, timeout_flags, msg_ring_flags, ...
	UserData    uint64 // returned in the CQE; never a Go pointer
	BufIndex    uint16 // buf_index / buf_group
	Personality uint16 // personality
	FileIndex   uint32 // splice_fd_in / file_index / addr_len
	Addr3       uint64 // addr3
	pad2        uint64 // __pad2
}

// CQE is the kernel's struct io_uring_cqe (16 bytes, no CQE32). A *CQE from
// PeekBatch points into the ring and is valid until CQAdvance (loop only).
type CQE struct {
	UserData uint64 // the SQE's user data
	Res      int32  // result, or -errno (convert with Errno)
	Flags    uint32 // IORING_CQE_F_*
}

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// params is struct io_uring_params (120 bytes).
type params struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFd         uint32
	resv         [3]uint32
	sqOff        sqringOffsets
	cqOff        cqringOffsets
}

// getEventsArg is struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG).
type getEventsArg struct {
	sigmask     uint64
	sigmaskSz   uint32
	minWaitUsec uint32
	ts          uint64 // *kernelTimespec
}

// kernelTimespec is struct __kernel_timespec (always 64-bit fields).
type kernelTimespec struct {
	sec  int64
	nsec int64
}

// bufEntry is struct io_uring_buf, one entry of a provided buffer ring.
// The ring's 16-bit tail overlays resv of entry 0 (struct io_uring_buf_ring).
type bufEntry struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16
}

// bufReg is struct io_uring_buf_reg (IORING_REGISTER_PBUF_RING).
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// rsrcRegister is struct io_uring_rsrc_register (IORING_REGISTER_FILES2).
type rsrcRegister struct {
	nr    uint32
	flags uint32
	resv2 uint64
	data  uint64
	tags  uint64
}

// filesUpdate is struct io_uring_files_update (IORING_REGISTER_FILES_UPDATE).
type filesUpdate struct {
	offset uint32
	resv   uint32
	fds    uint64 // *int32
}

// rsrcUpdate is struct io_uring_rsrc_update (IORING_REGISTER_RING_FDS).
type rsrcUpdate struct {
	offset uint32
	resv   uint32
	data   uint64
}

// syncCancelReg is struct io_uring_sync_cancel_reg (IORING_REGISTER_SYNC_CANCEL).
type syncCancelReg struct {
	addr    uint64
	fd      int32
	flags   uint32
	timeout kernelTimespec
	opcode  uint8
	pad     [7]uint8
	pad2    [3]uint64
}

// probeOp is struct io_uring_probe_op.
type probeOp struct {
	op    uint8
	resv  uint8
	flags uint16
	resv2 uint32
}

// probeHdr is the fixed part of struct io_uring_probe; ops follow it.
type probeHdr struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
}

// probeOps is the number of probeOp slots we hand to IORING_REGISTER_PROBE.
const probeOps = 256

// rawProbe is io_uring_probe with room for probeOps ops.
type rawProbe struct {
	hdr probeHdr
	ops [probeOps]probeOp
}

// Opcodes (enum io_uring_op).
const (
	OpNop            uint8 = 0
	OpReadv          uint8 = 1
	OpWritev         uint8 = 2
	OpFsync          uint8 = 3
	OpReadFixed      uint8 = 4
	OpWriteFixed     uint8 = 5
	OpPollAdd        uint8 = 6
	OpPollRemove     uint8 = 7
	OpSyncFileRange  uint8 = 8
	OpSendmsg        uint8 = 9
	OpRecvmsg        uint8 = 10
	OpTimeout        uint8 = 11
	OpTimeoutRemove  uint8 = 12
	OpAccept         uint8 = 13
	OpAsyncCancel    uint8 = 14
	OpLinkTimeout    uint8 = 15
	OpConnect        uint8 = 16
	OpFallocate      uint8 = 17
	OpOpenat         uint8 = 18
	OpClose          uint8 = 19
	OpFilesUpdate    uint8 = 20
	OpStatx          uint8 = 21
	OpRead           uint8 = 22
	OpWrite          uint8 = 23
	OpFadvise        uint8 = 24
	OpMadvise        uint8 = 25
	OpSend           uint8 = 26
	OpRecv           uint8 = 27
	OpOpenat2        uint8 = 28
	OpEpollCtl       uint8 = 29
	OpSplice         uint8 = 30
	OpProvideBuffers uint8 = 31
	OpRemoveBuffers  uint8 = 32
	OpTee            uint8 = 33
	OpShutdown       uint8 = 34
	OpRenameat       uint8 = 35
	OpUnlinkat       uint8 = 36
	OpMkdirat        uint8 = 37
	OpSymlinkat      uint8 = 38
	OpLinkat         uint8 = 39
	OpMsgRing        uint8 = 40
	OpFsetxattr      uint8 = 41
	OpSetxattr       uint8 = 42
	OpFgetxattr      uint8 = 43
	OpGetxattr       uint8 = 44
	OpSocket         uint8 = 45
	OpUringCmd       uint8 = 46
	OpSendZC         uint8 = 47
	OpSendmsgZC      uint8 = 48
	OpReadMultishot  uint8 = 49
	OpWaitid         uint8 = 50
	OpFutexWait      uint8 = 51
	OpFutexWake      uint8 = 52
	OpFutexWaitv     uint8 = 53
	OpFixedFdInstall uint8 = 54
	OpFtruncate      uint8 = 55
	OpBind           uint8 = 56
	OpListen         uint8 = 57
)

// SQE flags (IOSQE_*), for SQE.Flags / SetFlags.
const (
	SQEFixedFile      uint8 = 1 << 0 // Fd is an index into the registered files
	SQEIODrain        uint8 = 1 << 1 // start after all earlier SQEs completed
	SQEIOLink         uint8 = 1 << 2 // link the next SQE (broken by failure)
	SQEIOHardlink     uint8 = 1 << 3 // link the next SQE (not broken by failure)
	SQEAsync          uint8 = 1 << 4 // always go async
	SQEBufferSelect   uint8 = 1 << 5 // pick a buffer from the group in BufIndex
	SQECQESkipSuccess uint8 = 1 << 6 // no CQE on success
)

// Setup flags (IORING_SETUP_*).
const (
	SetupIOPoll           uint32 = 1 << 0
	SetupSQPoll           uint32 = 1 << 1
	SetupSQAff            uint32 = 1 << 2
	SetupCQSize           uint32 = 1 << 3
	SetupClamp            uint32 = 1 << 4
	SetupAttachWQ         uint32 = 1 << 5
	SetupRDisabled        uint32 = 1 << 6
	SetupSubmitAll        uint32 = 1 << 7
	SetupCoopTaskrun      uint32 = 1 << 8
	SetupTaskrunFlag      uint32 = 1 << 9
	SetupSQE128           uint32 = 1 << 10
	SetupCQE32            uint32 = 1 << 11
	SetupSingleIssuer     uint32 = 1 << 12
	SetupDeferTaskrun     uint32 = 1 << 13
	SetupNoMmap           uint32 = 1 << 14
	SetupRegisteredFdOnly uint32 = 1 << 15
	SetupNoSQArray        uint32 = 1 << 16
)

// Features reported by io_uring_setup (IORING_FEAT_*).
const (
	FeatSingleMmap     uint32 = 1 << 0
	FeatNoDrop         uint32 = 1 << 1
	FeatSubmitStable   uint32 = 1 << 2
	FeatRWCurPos       uint32 = 1 << 3
	FeatCurPersonality uint32 = 1 << 4
	FeatFastPoll       uint32 = 1 << 5
	FeatPoll32Bits     uint32 = 1 << 6
	FeatSQPollNonfixed uint32 = 1 << 7
	FeatExtArg         uint32 = 1 << 8
	FeatNativeWorkers  uint32 = 1 << 9
	FeatRsrcTags       uint32 = 1 << 10
	FeatCQESkip        uint32 = 1 << 11
	FeatLinkedFile     uint32 = 1 << 12
	FeatRegRegRing     uint32 = 1 << 13
	FeatRecvsendBundle uint32 = 1 << 14
	FeatMinTimeout     uint32 = 1 << 15
	FeatRWAttr         uint32 = 1 << 16
	FeatNoIOWait       uint32 = 1 << 17
)

// io_uring_enter flags (IORING_ENTER_*).
const (
	EnterGetEvents      uint32 = 1 << 0
	EnterSQWakeup       uint32 = 1 << 1
	EnterSQWait         uint32 = 1 << 2
	EnterExtArg         uint32 = 1 << 3
	EnterRegisteredRing uint32 = 1 << 4
)

// SQ ring flags (IORING_SQ_*), set by the kernel.
const (
	SQNeedWakeup uint32 = 1 << 0
	SQCQOverflow uint32 = 1 << 1
	SQTaskrun    uint32 = 1 << 2
)

// CQE flags (IORING_CQE_F_*).
const (
	CQEFBuffer       uint32 = 1 << 0 // upper 16 bits hold the buffer id
	CQEFMore         uint32 = 1 << 1 // a multishot request will post more CQEs
	CQEFSockNonempty uint32 = 1 << 2 // more data was left in the socket
	CQEFNotif        uint32 = 1 << 3 // SEND_ZC notification: the buffer may be reused
	CQEFBufMore      uint32 = 1 << 4 // incremental buffer: the kernel keeps using this buffer id

	CQEBufferShift = 16 // IORING_CQE_BUFFER_SHIFT
)

// Send/recv flags carried in SQE.Ioprio (IORING_RECVSEND_*, IORING_RECV_*, IORING_SEND_ZC_*).
const (
	RecvsendPollFirst uint16 = 1 << 0
	RecvMultishot     uint16 = 1 << 1
	RecvsendFixedBuf  uint16 = 1 << 2
	SendZCReportUsage uint16 = 1 << 3
	RecvsendBundle    uint16 = 1 << 4
)

// Accept flags carried in SQE.Ioprio (IORING_ACCEPT_*).
const (
	AcceptMultishot uint16 = 1 << 0
	AcceptDontwait  uint16 = 1 << 1
	AcceptPollFirst uint16 = 1 << 2
)

// Timeout flags (IORING_TIMEOUT_*).
const (
	TimeoutAbs          uint32 = 1 << 0
	TimeoutUpdate       uint32 = 1 << 1
	TimeoutBoottime     uint32 = 1 << 2
	TimeoutRealtime     uint32 = 1 << 3
	TimeoutLinkUpdate   uint32 = 1 << 4
	TimeoutETimeSuccess uint32 = 1 << 5
	TimeoutMultishot    uint32 = 1 << 6
)

// Poll add flags carried in SQE.Len (IORING_POLL_*).
const (
	PollAddMulti       uint32 = 1 << 0
	PollUpdateEvents   uint32 = 1 << 1
	PollUpdateUserData uint32 = 1 << 2
	PollAddLevel       uint32 = 1 << 3
)

// Async cancel flags (IORING_ASYNC_CANCEL_*).
const (
	CancelAll      uint32 = 1 << 0 // cancel every match, not just the first
	CancelFd       uint32 = 1 << 1 // match on Fd instead of user data
	CancelAny      uint32 = 1 << 2 // match any request
	CancelFdFixed  uint32 = 1 << 3 // Fd is a registered file index
	CancelUserdata uint32 = 1 << 4
	CancelOp       uint32 = 1 << 5
)

// MSG_RING commands (in SQE.Addr) and flags.
const (
	msgData uint64 = 0 // IORING_MSG_DATA

	MsgRingCQESkip   uint32 = 1 << 0 // IORING_MSG_RING_CQE_SKIP: no CQE on the target (fd passing only)
	MsgRingFlagsPass uint32 = 1 << 1 // IORING_MSG_RING_FLAGS_PASS
)

// FileIndexAlloc asks PrepAcceptDirect to allocate a free registered file slot
// (IORING_FILE_INDEX_ALLOC); the CQE's Res is the index.
const FileIndexAlloc uint32 = ^uint32(0)

// Provided buffer ring flags (IOU_PBUF_RING_*).
const (
	pbufRingMmap uint16 = 1 // IOU_PBUF_RING_MMAP: kernel allocates the ring (unused here)
	// PbufRingInc is IOU_PBUF_RING_INC: buffers are consumed incrementally
	// (one buffer may serve several CQEs; CQEFBufMore tells it is not done).
	PbufRingInc uint32 = 2
)

// mmap offsets (IORING_OFF_*).
const (
	offSQRing int64 = 0
	offCQRing int64 = 0x8000000
	offSQEs   int64 = 0x10000000
)

// io_uring_register opcodes (IORING_REGISTER_*).
const (
	registerFiles       uint32 = 2
	unregisterFiles     uint32 = 3
	registerFilesUpdate uint32 = 6
	registerProbe       uint32 = 8
	registerFiles2      uint32 = 13
	registerRingFds     uint32 = 20
	unregisterRingFds   uint32 = 21
	registerPbufRing    uint32 = 22
	unregisterPbufRing  uint32 = 23
	registerSyncCancel  uint32 = 24
)

const (
	rsrcRegisterSparse uint32 = 1 << 0 // IORING_RSRC_REGISTER_SPARSE
	opSupported        uint16 = 1 << 0 // IO_URING_OP_SUPPORTED
)

// Limits of io_uring_setup.
const (
	maxEntries   = 32768 // IORING_MAX_ENTRIES
	maxCQEntries = 2 * maxEntries
	maxBufRing   = 32768 // buffer ids are 16-bit; ring entries at most 2^15
)
