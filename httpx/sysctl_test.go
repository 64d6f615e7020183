package httpx

import (
	"bufio"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// TestServerFallbackIOUringDisabled disables io_uring machine-wide (kernel.io_uring_disabled=2),
// starts a server on the auto backend, and checks it falls back to epoll and serves. It runs only
// with RINGO_SYSCTL_TESTS=1 (the Makefile's serial step) and restores the setting.
func TestServerFallbackIOUringDisabled(t *testing.T) {
	if os.Getenv("RINGO_SYSCTL_TESTS") != "1" {
		t.Skip("flips kernel.io_uring_disabled: set RINGO_SYSCTL_TESTS=1 to run")
	}
	const path = "/proc/sys/kernel/io_uring_disabled"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("kernel.io_uring_disabled not available: %v", err)
	}
	if err := os.WriteFile(path, []byte("2"), 0o644); err != nil {
		t.Skipf("cannot set kernel.io_uring_disabled: %v", err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Errorf("restoring kernel.io_uring_disabled=%s: %v", strings.TrimSpace(string(old)), err)
		}
	})
	s := &Server{Handler: HandlerFunc(helloHandler)}
	addr := startServer(t, reactor.BackendAuto, s)
	if b := s.Backend(); b != reactor.BackendEpoll {
		t.Fatalf("backend %s with io_uring disabled", b)
	}
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	rs := readResponses(t, bufio.NewReader(c), 1)
	if bodyString(rs[0]) != "Hello, World!" {
		t.Fatal("no answer on the epoll fallback")
	}
}
