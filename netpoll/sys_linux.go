//go:build linux

package netpoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The helpers below are the nonblocking socket calls of the epoll path,
// without the allocations of their x/sys counterparts. They use
// unix.RawSyscall: on a nonblocking descriptor they cannot block, so there is
// no need to hand the P to the scheduler (about 50 ns cheaper per call).
// EINTR is retried; EAGAIN is returned as unix.EAGAIN for the caller to wait
// for readiness.

// Accept accepts one connection from the nonblocking listener fd with
// accept4(flags) (SOCK_NONBLOCK|SOCK_CLOEXEC typically). The peer address is
// written to rsa (caller-owned, may be nil), which is why nothing allocates.
func Accept(fd int, rsa *unix.RawSockaddrAny, flags int) (int, error) {
	var lenp *uint32
	var l uint32
	if rsa != nil {
		l = unix.SizeofSockaddrAny
		lenp = &l
	}
	for {
		// rsa and l are only accessed by the kernel during the call.
		r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd),
			uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(lenp)), uintptr(flags), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// Read reads into b from the nonblocking fd. It returns (0, nil) at EOF.
func Read(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		// b is a live Go slice for the duration of the call.
		r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// Write writes b to the nonblocking fd (one call; may be short).
func Write(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// MaxIovecs is the kernel's IOV_MAX: writev takes at most this many buffers.
const MaxIovecs = 1024

// Writev writes bufs to the nonblocking fd with one writev, using iov
// (caller-owned, reused across calls) for the iovec array: at most
// min(len(iov), MaxIovecs) non-empty buffers are passed. The write may be
// short. iov keeps pointers into bufs only until Writev returns; they are
// cleared so the array does not pin the buffers.
func Writev(fd int, iov []unix.Iovec, bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		if n == len(iov) || n == MaxIovecs {
			break
		}
		if len(b) == 0 {
			continue
		}
		iov[n].Base = &b[0]
		iov[n].SetLen(len(b))
		n++
	}
	if n == 0 {
		return 0, nil
	}
	defer clear(iov[:n])
	for {
		// The iovecs point at live Go slices (bufs) for the duration of the call.
		r, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// SocketError returns the pending error of fd (getsockopt SO_ERROR), which is
// how a nonblocking connect reports its result; nil means connected.
func SocketError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}

// Send writes b to the socket fd with send(MSG_NOSIGNAL|MSG_DONTWAIT): a
// peer that is gone yields EPIPE instead of SIGPIPE. One call; may be short.
func Send(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// Recv reads into b from the socket fd with recv(MSG_DONTWAIT), whether or
// not the fd is nonblocking. It returns (0, nil) at EOF.
func Recv(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		// b is a live Go slice for the duration of the call.
		r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// Unacked returns the bytes of the TCP socket fd's output its peer has not
// acknowledged yet (ioctl SIOCOUTQ; a FIN sent counts as one).
func Unacked(fd int) (int, error) { return ioctlInt(fd, unix.SIOCOUTQ) }

// Unsent returns the bytes of the TCP socket fd's output not transmitted yet
// (ioctl SIOCOUTQNSD).
func Unsent(fd int) (int, error) { return ioctlInt(fd, unix.SIOCOUTQNSD) }

// Unread returns the bytes the socket fd has received and nobody has read
// yet (ioctl SIOCINQ).
func Unread(fd int) (int, error) { return ioctlInt(fd, unix.SIOCINQ) }

func ioctlInt(fd int, req uintptr) (int, error) {
	var n int32
	// n is written by the kernel only during the call.
	_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Connect starts connecting the socket fd to rsa (length rsaLen, see
// PutAddr). On a nonblocking socket it returns unix.EINPROGRESS while the
// handshake runs; wait for write readiness, then read SocketError.
func Connect(fd int, rsa *unix.RawSockaddrAny, rsaLen uint32) error {
	for {
		// rsa is read by the kernel during the call only.
		_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(rsa)), uintptr(rsaLen))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			// A signal interrupted a connect that goes on in the background:
			// report it as in progress (a retry would give EALREADY).
			return unix.EINPROGRESS
		default:
			return e
		}
	}
}

// Bind binds the socket fd to rsa (length rsaLen, see PutAddr).
func Bind(fd int, rsa *unix.RawSockaddrAny, rsaLen uint32) error {
	// rsa is read by the kernel during the call only.
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(rsa)), uintptr(rsaLen))
	if e != 0 {
		return e
	}
	return nil
}
