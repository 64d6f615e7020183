//go:build linux

package reactor

import (
	"net"
	"net/netip"
)

// ipPort is a TCP address kept compactly in a Conn (no pointers, nothing
// on the heap); net.Addr values are made from it on demand.
type ipPort struct {
	ip   [16]byte
	port [2]byte // big-endian; bytes, so that the struct has no padding
	kind uint8   // 0: none, 4: IPv4, 6: IPv6, kindDialed (see there)
}

// kindDialed marks the local address of a conn from Loop.Dial: it is known
// only once the connect completes, and then kept in connRare.dialLocal, so
// that Conn.local is never written after the conn is published (LocalAddr
// is safe from any goroutine). Methods of ipPort treat it as none.
const kindDialed = 1

func (p *ipPort) portNum() uint16 { return uint16(p.port[0])<<8 | uint16(p.port[1]) }

func ipPortFrom(ap netip.AddrPort, ok bool) ipPort {
	if !ok || !ap.Addr().IsValid() {
		return ipPort{}
	}
	a := ap.Addr()
	p := ipPort{ip: a.As16(), port: [2]byte{byte(ap.Port() >> 8), byte(ap.Port())}, kind: 6}
	if a.Is4() {
		p.kind = 4
	}
	return p
}

// ipPortOfAddr converts a *net.TCPAddr (anything else gives none).
func ipPortOfAddr(a net.Addr) ipPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return ipPort{}
	}
	ap := ta.AddrPort()
	return ipPortFrom(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.Addr().IsValid())
}

// tcpAddr returns a new *net.TCPAddr, or nil (an untyped nil net.Addr) for
// none.
func (p *ipPort) tcpAddr() net.Addr {
	switch p.kind {
	case 4:
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4([4]byte(p.ip[12:])), p.portNum()))
	case 6:
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom16(p.ip), p.portNum()))
	}
	return nil
}

// addrPort returns the address as a netip.AddrPort (the zero value for
// none). It does not allocate: netip values hold no pointers for IPv4 and
// zone-less IPv6.
func (p *ipPort) addrPort() netip.AddrPort {
	switch p.kind {
	case 4:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(p.ip[12:])), p.portNum())
	case 6:
		return netip.AddrPortFrom(netip.AddrFrom16(p.ip), p.portNum())
	}
	return netip.AddrPort{}
}
