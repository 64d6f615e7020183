package reactor

import (
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/ringo-io/ringo/netpoll"
)

const noIPv6HelperEnv = "RINGO_REACTOR_NOIPV6_HELPER"

// Listen("tcp", ":port") opened an IPv6 dual-stack socket and failed outright
// ("address family not supported") on a kernel without IPv6 (booted with
// ipv6.disable=1), where net.Listen serves IPv4. The test re-executes itself as
// a helper whose socket(AF_INET6) a seccomp filter fails with EAFNOSUPPORT, as
// such a kernel does; the helper listens on ":0" on each backend and the
// parent echoes through 127.0.0.1.
func TestReview21ListenWithoutIPv6(t *testing.T) {
	if os.Getenv(noIPv6HelperEnv) != "" {
		noIPv6Helper(Backend(os.Getenv(noIPv6HelperEnv)))
		return
	}
	for _, b := range []Backend{BackendEpoll, BackendUring} {
		t.Run(string(b), func(t *testing.T) {
			port := helperLine(t, "TestReview21ListenWithoutIPv6", noIPv6HelperEnv+"="+string(b), EnvBackend+"=")
			c, err := net.Dial("tcp", "127.0.0.1:"+port)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			echoRoundTrip(t, c, pattern(64<<10, 3))
		})
	}
}

// noIPv6Helper runs in the child: deny IPv6 sockets, listen on ":0" with
// backend b, print the port, serve until stdin closes.
func noIPv6Helper(b Backend) {
	if err := netpoll.DenyIPv6ForTest(); err != nil {
		fmt.Println("HELPER-SKIP seccomp filter unavailable:", err)
		os.Exit(0)
	}
	if _, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		fmt.Println("HELPER-ERR the filter let an IPv6 socket through")
		os.Exit(1)
	}
	s, err := Listen("tcp", ":0", echoHandler(), WithLoops(1), WithBackend(b), WithLogger(quietLogger()))
	if err != nil {
		fmt.Println("HELPER-ERR", err)
		os.Exit(1)
	}
	if err := s.Start(); err != nil {
		fmt.Println("HELPER-ERR", err)
		os.Exit(1)
	}
	fmt.Printf("HELPER %d\n", s.Addr().(*net.TCPAddr).Port)
	buf := make([]byte, 1)
	os.Stdin.Read(buf) // until the parent closes stdin
	s.Close()
	os.Exit(0)
}
