//go:build linux

package reactor

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestAddrPorts: LocalAddrPort and RemoteAddrPort give the same addresses
// as the net.Addr forms, for IPv4 and IPv6 (no 4-in-6 mapping), and the
// zero value for a unix socket.
func TestAddrPorts(t *testing.T) {
	type addrs struct {
		local, remote     net.Addr
		localAP, remoteAP netip.AddrPort
	}
	opened := func() (Handler, chan addrs) {
		ch := make(chan addrs, 1)
		return HandlerFuncs{Open: func(c *Conn) {
			ch <- addrs{c.LocalAddr(), c.RemoteAddr(), c.LocalAddrPort(), c.RemoteAddrPort()}
		}}, ch
	}
	next := func(t *testing.T, ch chan addrs) addrs {
		t.Helper()
		select {
		case a := <-ch:
			return a
		case <-time.After(10 * time.Second):
			t.Fatal("no OnOpen")
			return addrs{}
		}
	}
	check := func(t *testing.T, a addrs, client net.Conn, is4 bool) {
		t.Helper()
		wantRemote := client.LocalAddr().(*net.TCPAddr).AddrPort()
		wantLocal := client.RemoteAddr().(*net.TCPAddr).AddrPort()
		if a.remoteAP != wantRemote || a.localAP != wantLocal {
			t.Fatalf("AddrPort forms local=%v remote=%v, want %v and %v", a.localAP, a.remoteAP, wantLocal, wantRemote)
		}
		if a.remoteAP.Addr().Is4() != is4 || a.localAP.Addr().Is4() != is4 {
			t.Fatalf("address family: local=%v remote=%v, want Is4=%v", a.localAP, a.remoteAP, is4)
		}
		if a.remote.String() != a.remoteAP.String() || a.local.String() != a.localAP.String() {
			t.Fatalf("net.Addr forms %v/%v differ from %v/%v", a.local, a.remote, a.localAP, a.remoteAP)
		}
	}
	forEachBackend(t, func(t *testing.T, b Backend) {
		h, ch := opened()
		s := start(t, b, h)
		c := dial(t, s)
		check(t, next(t, ch), c, true)

		if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
			t.Logf("IPv6 part skipped: no IPv6 loopback: %v", err)
		} else {
			ln.Close()
			h6, ch6 := opened()
			s6, err := Listen("tcp6", "[::1]:0", h6, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
			if err != nil {
				t.Fatal(err)
			}
			defer s6.Close()
			if err := s6.Start(); err != nil {
				t.Fatal(err)
			}
			c6, err := net.Dial("tcp6", s6.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c6.Close()
			check(t, next(t, ch6), c6, false)
		}

		hu, chu := opened()
		path := t.TempDir() + "/addr.sock"
		su, err := Listen("unix", path, hu, legBackend(b), WithLoops(1), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		defer su.Close()
		if err := su.Start(); err != nil {
			t.Fatal(err)
		}
		cu, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer cu.Close()
		if a := next(t, chu); a.localAP.IsValid() || a.remoteAP.IsValid() {
			t.Fatalf("unix conn AddrPorts %v %v, want zero", a.localAP, a.remoteAP)
		}
	})
}
