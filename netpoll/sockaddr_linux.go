//go:build linux

package netpoll

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrAddrFamily is returned for an address family netpoll cannot convert.
var ErrAddrFamily = errors.New("netpoll: unsupported address family")

// Addr converts a kernel sockaddr (from accept, getpeername or getsockname)
// to a *net.TCPAddr or *net.UnixAddr. It returns nil for an unknown family.
func Addr(rsa *unix.RawSockaddrAny) net.Addr {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		// RawSockaddrAny is sized and aligned for every sockaddr_* type; the
		// family says which one the kernel wrote.
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr6(sa), port))
	case unix.AF_UNIX:
		sa := (*unix.RawSockaddrUnix)(unsafe.Pointer(rsa))
		start := 0
		if sa.Path[0] == 0 && sa.Path[1] != 0 {
			// An abstract address: spelled "@name", as package net does
			// (an unnamed socket's path is all NUL and stays "").
			start = 1
		}
		n := start
		for n < len(sa.Path) && sa.Path[n] != 0 {
			n++
		}
		b := make([]byte, n)
		for i := start; i < n; i++ {
			b[i] = byte(sa.Path[i])
		}
		if start == 1 {
			b[0] = '@'
		}
		return &net.UnixAddr{Name: string(b), Net: "unix"}
	}
	return nil
}

// addr6 is sa's address with its scope (a link-local address's interface)
// as a numeric zone, which package net and PutAddr accept.
func addr6(sa *unix.RawSockaddrInet6) netip.Addr {
	a := netip.AddrFrom16(sa.Addr)
	if sa.Scope_id != 0 {
		a = a.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
	}
	return a
}

// AddrPort returns the IP address and port of an AF_INET or AF_INET6
// sockaddr, without allocating; ok is false for other families.
func AddrPort(rsa *unix.RawSockaddrAny) (ap netip.AddrPort, ok bool) {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		// As in Addr: the family says which sockaddr the kernel wrote.
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port), true
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(addr6(sa), port), true
	}
	return netip.AddrPort{}, false
}

// PeerAddrPort is AddrPort of getpeername(fd), without allocating.
func PeerAddrPort(fd int) (netip.AddrPort, bool) {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	// rsa and l live on this stack during the call only; the kernel writes
	// at most l bytes into rsa.
	_, _, e := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e == unix.ENOTCONN {
		// A TCP socket the peer reset (say, while it waited in the accept
		// queue) is in state CLOSE: getpeername refuses it, SO_PEERNAME (as
		// accept(2)) still gives the address it was connected to.
		// Its length must not exceed the address's (EINVAL): IPv6's, else IPv4's.
		for _, n := range [...]uint32{unix.SizeofSockaddrInet6, unix.SizeofSockaddrInet4} {
			l = n
			_, _, e = unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERNAME,
				uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)), 0)
			if e != unix.EINVAL {
				break
			}
		}
	}
	if e != 0 {
		return netip.AddrPort{}, false
	}
	return AddrPort(&rsa)
}

// LocalAddrPort is AddrPort of getsockname(fd), without allocating.
func LocalAddrPort(fd int) (netip.AddrPort, bool) {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	// As in PeerAddrPort.
	_, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return netip.AddrPort{}, false
	}
	return AddrPort(&rsa)
}

// PutAddr writes addr (*net.TCPAddr or *net.UnixAddr) into rsa as the kernel
// expects it for connect or bind, and returns the sockaddr length and the
// address family.
func PutAddr(rsa *unix.RawSockaddrAny, addr net.Addr) (uint32, int, error) {
	*rsa = unix.RawSockaddrAny{}
	switch a := addr.(type) {
	case *net.TCPAddr:
		ap := a.AddrPort()
		ip := ap.Addr()
		if ip.Is4() || ip.Is4In6() {
			sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
			sa.Family = unix.AF_INET
			binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], ap.Port())
			sa.Addr = ip.Unmap().As4()
			return unix.SizeofSockaddrInet4, unix.AF_INET, nil
		}
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		sa.Family = unix.AF_INET6
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], ap.Port())
		sa.Addr = ip.As16()
		if z := ip.Zone(); z != "" {
			// A link-local address's interface (name or index), as package
			// net sets it: without it connect and bind fail with EINVAL.
			if n, err := strconv.ParseUint(z, 10, 32); err == nil {
				sa.Scope_id = uint32(n)
			} else if ifi, err := net.InterfaceByName(z); err == nil {
				sa.Scope_id = uint32(ifi.Index)
			} else {
				return 0, 0, err
			}
		}
		return unix.SizeofSockaddrInet6, unix.AF_INET6, nil
	case *net.UnixAddr:
		sa := (*unix.RawSockaddrUnix)(unsafe.Pointer(rsa))
		abstract := len(a.Name) > 0 && a.Name[0] == '@'
		if len(a.Name) > len(sa.Path) || len(a.Name) == len(sa.Path) && !abstract {
			return 0, 0, unix.ENAMETOOLONG // a path needs its final NUL; an abstract name none
		}
		sa.Family = unix.AF_UNIX
		for i := 0; i < len(a.Name); i++ {
			sa.Path[i] = int8(a.Name[i])
		}
		if abstract {
			// An abstract socket, spelled "@name" as package net does: the
			// address is a NUL and the name, its length exact (no final NUL).
			sa.Path[0] = 0
			return uint32(2 + len(a.Name)), unix.AF_UNIX, nil
		}
		// sa_family + path + NUL, as the kernel accepts for pathname sockets.
		return uint32(2 + len(a.Name) + 1), unix.AF_UNIX, nil
	}
	return 0, 0, ErrAddrFamily
}

// PeerAddr returns the remote address of a connected socket, nil on error.
func PeerAddr(fd int) net.Addr {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return nil
	}
	return Addr(&rsa)
}

// LocalAddr returns the local address of a socket, nil on error.
func LocalAddr(fd int) net.Addr {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return nil
	}
	return Addr(&rsa)
}
