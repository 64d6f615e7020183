package ring

import (
	"errors"
	"fmt"
	"syscall" // not x/sys/unix: this file builds on every platform (unix.Errno is syscall.Errno on Linux)
)

// ErrUnsupported reports that io_uring cannot be used here. New and Detect
// return it wrapped together with the cause, so that both
// errors.Is(err, ErrUnsupported) and errors.Is(err, syscall.EPERM) (or ENOSYS,
// ENOMEM) hold.
var ErrUnsupported = errors.New("ring: io_uring not available")

// ErrClosed is returned by methods of a Ring or BufRing after Close.
var ErrClosed = errors.New("ring: closed")

// ErrSQFull is returned by helpers that need a free SQE and find none.
var ErrSQFull = errors.New("ring: submission queue full")

// ErrWrongThread is returned when io_uring_enter answers EEXIST: the ring was
// created with SINGLE_ISSUER and is used from another OS thread than the one
// that created it. errors.Is(ErrWrongThread, syscall.EEXIST) is true.
var ErrWrongThread = fmt.Errorf("ring: SINGLE_ISSUER ring used from a thread that did not create it: %w", syscall.EEXIST)

// Errno converts a CQE result: nil if res >= 0, else syscall.Errno(-res). It is
// the only place a negative Res becomes an error. It does not allocate.
func Errno(res int32) error {
	if res >= 0 {
		return nil
	}
	return syscall.Errno(-res)
}

// unsupported wraps a setup-time errno that means "no io_uring here" into
// ErrUnsupported, keeping the cause. Other errnos are returned wrapped with
// the call name only.
//
//   - ENOSYS: the kernel was built without io_uring (CONFIG_IO_URING=n).
//   - EPERM: a seccomp profile (Docker's default and most container runtimes
//     deny io_uring_*), or kernel.io_uring_disabled=2 (or =1 for a process
//     outside kernel.io_uring_group). See Documentation/admin-guide/sysctl/kernel.rst.
//   - ENOMEM: before 5.12 ring memory is charged to RLIMIT_MEMLOCK, which is
//     64 KiB by default; the ring cannot be created at all.
func unsupported(call string, errno syscall.Errno) error {
	switch errno {
	case syscall.ENOSYS, syscall.EPERM, syscall.ENOMEM:
		return fmt.Errorf("%w: %s: %w", ErrUnsupported, call, errno)
	}
	return fmt.Errorf("ring: %s: %w", call, errno)
}
