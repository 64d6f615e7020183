//go:build linux

package netpoll

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A link-local IPv6 address names its interface by its zone
// ("[fe80::1%lo]:80"); the sockaddr must carry it as sin6_scope_id, else
// connect(2) and bind(2) fail with EINVAL (package net sets it).
func TestReview20PutAddrKeepsIPv6Zone(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip(err)
	}
	var rsa unix.RawSockaddrAny
	_, fam, err := PutAddr(&rsa, &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80, Zone: "lo"})
	if err != nil || fam != unix.AF_INET6 {
		t.Fatal(fam, err)
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
	if int(sa.Scope_id) != lo.Index {
		t.Fatalf("sin6_scope_id %d, want %d (zone %q dropped)", sa.Scope_id, lo.Index, "lo")
	}
}

// The scope comes back as a numeric zone, so an address read from the kernel
// (accept, getpeername) can be dialed again; an unknown zone name is an
// error, not an address without its interface.
func TestReview20IPv6ZoneRoundTrip(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip(err)
	}
	var rsa unix.RawSockaddrAny
	if _, _, err := PutAddr(&rsa, &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80, Zone: "lo"}); err != nil {
		t.Fatal(err)
	}
	got := Addr(&rsa).(*net.TCPAddr)
	if got.Zone != fmt.Sprint(lo.Index) || got.Port != 80 {
		t.Fatalf("Addr: %v, want zone %d", got, lo.Index)
	}
	if ap, ok := AddrPort(&rsa); !ok || ap.Addr().Zone() != fmt.Sprint(lo.Index) {
		t.Fatalf("AddrPort: %v", ap)
	}
	if _, _, err := PutAddr(&rsa, got); err != nil {
		t.Fatal(err)
	}
	if _, _, err := PutAddr(&rsa, &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80, Zone: "no-such-if0"}); err == nil {
		t.Fatal("unknown zone accepted")
	}
	// ::1 has no scope: no zone.
	PutAddr(&rsa, &net.TCPAddr{IP: net.IPv6loopback, Port: 1})
	if a := Addr(&rsa).(*net.TCPAddr); a.Zone != "" {
		t.Fatalf("::1 got zone %q", a.Zone)
	}
}

// An abstract unix name may fill sun_path (no final NUL), as package net
// allows: "@" and 107 bytes. A path name needs its NUL: 108 bytes is too long.
func TestReview20PutAddrLongestAbstract(t *testing.T) {
	name := "@" + strings.Repeat("a", 107)
	ln, err := net.Listen("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var rsa unix.RawSockaddrAny
	n, fam, err := PutAddr(&rsa, &net.UnixAddr{Name: name, Net: "unix"})
	if err != nil || fam != unix.AF_UNIX || n != unix.SizeofSockaddrUnix {
		t.Fatalf("PutAddr(%d-byte abstract name): len %d, %v", len(name), n, err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(n)); e != 0 {
		t.Fatalf("connect: %v", e)
	}
	if _, _, err := PutAddr(&rsa, &net.UnixAddr{Name: "/" + strings.Repeat("a", 107), Net: "unix"}); err == nil {
		t.Fatal("a 108-byte path accepted")
	}
}
