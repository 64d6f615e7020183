//go:build linux

package ring

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The only file that calls io_uring_setup, io_uring_enter, io_uring_register
// and mmap/munmap (liburing: src/syscall.h).

// sysSetup is io_uring_setup(2). p is read and written by the kernel during
// the call only.
func sysSetup(entries uint32, p *params) (int, unix.Errno) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), 0
}

// sysEnterRaw is io_uring_enter(2) through RawSyscall6: no scheduler
// hand-off, so only for calls that cannot block (min_complete == 0).
func sysEnterRaw(fd int, toSubmit, minComplete, flags uint32, arg unsafe.Pointer, argSz uintptr) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), uintptr(arg), argSz)
	return int(n), errno
}

// sysEnter is io_uring_enter(2) through Syscall6: the Go scheduler may run
// other goroutines on another thread while this one waits in the kernel.
func sysEnter(fd int, toSubmit, minComplete, flags uint32, arg unsafe.Pointer, argSz uintptr) (int, unix.Errno) {
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), uintptr(arg), argSz)
	return int(n), errno
}

// sysRegister is io_uring_register(2). arg must stay alive for the call only:
// every registration we use copies what it needs (the buffer ring's memory
// is the exception and is off-heap).
func sysRegister(fd int, opcode uint32, arg unsafe.Pointer, nrArgs uint32) (int, unix.Errno) {
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(opcode), uintptr(arg), uintptr(nrArgs), 0, 0)
	return int(n), errno
}

// mmapRing maps one of the ring regions of fd (IORING_OFF_*).
func mmapRing(fd int, off int64, size uintptr) (unsafe.Pointer, error) {
	return unix.MmapPtr(fd, off, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
}

// mmapAnon maps size bytes of zeroed, private, off-heap memory (buffer rings
// and their buffers). The GC neither scans nor moves it.
func mmapAnon(size uintptr) (unsafe.Pointer, error) {
	return unix.MmapPtr(-1, 0, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
}

// munmap releases a mapping made by mmapRing or mmapAnon; nil is a no-op.
func munmap(p unsafe.Pointer, size uintptr) error {
	if p == nil {
		return nil
	}
	return unix.MunmapPtr(p, size)
}
