// Package ring is ringo's io_uring binding, written on golang.org/x/sys/unix
// without cgo.
//
// It is layered like liburing: abi_linux.go holds the kernel structs and
// constants, sys_linux.go the raw system calls and mmap, setup_linux.go the
// cold path (setup, mapping, teardown), queue_linux.go the hot path (SQE
// acquisition, submit, CQE peek and advance), access_linux.go every access to
// memory shared with the kernel, prep_linux.go one Prep method per opcode,
// bufring_linux.go provided buffer rings, register_linux.go registrations,
// and features_linux.go feature detection.
//
// # Threads
//
// A Ring is not safe for concurrent use: every method is "loop only", meaning
// it must be called by the one goroutine that owns the ring. New tries
// IORING_SETUP_SINGLE_ISSUER|DEFER_TASKRUN first; such a ring accepts
// io_uring_enter only from the OS thread that created it (any other thread
// gets ErrWrongThread). A goroutine that wants those semantics must call
// runtime.LockOSThread before New and stay locked for the ring's life. A
// goroutine that cannot lock its thread should pass
// Config.Disable = SetupSingleIssuer|SetupDeferTaskrun.
//
// # Memory the kernel uses
//
// Every buffer, sockaddr, msghdr, iovec or timespec handed to a Prep method
// is used by the kernel after Submit returns. The caller owns that memory and
// must keep it alive and unmoved until the operation's last CQE: heap memory
// that stays referenced, or off-heap memory such as a BufRing. Never a value
// on a goroutine stack (stacks move). User data is an opaque uint64 returned
// in the CQE; it must never be a Go pointer (use a slot index plus a
// generation). UserDataInternal is reserved.
package ring
