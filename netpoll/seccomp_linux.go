//go:build linux

package netpoll

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Test support only. DenyIOUringForTest exists so the reactor's tests can
// prove that backend "auto" falls back to epoll where a seccomp profile (as
// container runtimes install) denies io_uring. It lives here because building
// the sock_fprog needs unsafe, which the project allows only in ring/ and
// netpoll/.

// sysIOUringSetup is io_uring_setup's number; it is 425 on every Linux
// architecture (the syscall table was unified before io_uring was added).
const sysIOUringSetup = 425

// seccomp_data offsets (include/uapi/linux/seccomp.h).
const (
	seccompDataNr   = 0
	seccompDataArch = 4
	seccompDataArgs = 16
)

// DenyIOUringForTest installs, on every thread of the calling process, a
// seccomp filter that fails io_uring_setup with EPERM and allows everything
// else. It sets PR_SET_NO_NEW_PRIVS first (required without CAP_SYS_ADMIN).
// Irreversible: call it only in a helper process a test re-executes.
func DenyIOUringForTest() error {
	return installFilter(func(arch uint32) []unix.SockFilter {
		return []unix.SockFilter{
			// A = seccomp_data.arch; a foreign ABI is allowed through untouched.
			{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: seccompDataArch},
			{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: arch},
			// A = seccomp_data.nr
			{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: seccompDataNr},
			{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: sysIOUringSetup},
			{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
			{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
		}
	})
}

// DenyIPv6ForTest installs, like DenyIOUringForTest, a filter that fails
// socket(AF_INET6, ...) with EAFNOSUPPORT, as a kernel booted with
// ipv6.disable=1 does. Irreversible: helper processes only.
func DenyIPv6ForTest() error {
	return installFilter(func(arch uint32) []unix.SockFilter {
		return []unix.SockFilter{
			{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: seccompDataArch},
			{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 5, K: arch},
			{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: seccompDataNr},
			{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: unix.SYS_SOCKET},
			// A = the low 32 bits of the first argument (the family); the
			// program runs on little-endian architectures only (auditArch).
			{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: seccompDataArgs},
			{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.AF_INET6},
			{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EAFNOSUPPORT)},
			{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
		}
	})
}

// installFilter builds the program for this architecture and installs it
// on every thread of the process.
func installFilter(build func(arch uint32) []unix.SockFilter) error {
	arch, ok := auditArch()
	if !ok {
		return ErrUnsupported
	}
	filter := build(arch)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// The kernel copies the program during the call; prog and filter are
	// kept alive until it returns. TSYNC applies the filter to all threads of
	// the process (the Go runtime has several).
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	if e != 0 {
		return e
	}
	return nil
}

func auditArch() (uint32, bool) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, true
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, true
	case "riscv64":
		return unix.AUDIT_ARCH_RISCV64, true
	}
	return 0, false
}
