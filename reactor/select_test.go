//go:build linux

package reactor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/ringo-io/ringo/netpoll"
)

func TestBackendSelection(t *testing.T) {
	t.Setenv(EnvBackend, "epoll")
	s, err := NewServer(echoHandler(), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != BackendEpoll || !strings.Contains(s.BackendReason(), EnvBackend) {
		t.Fatalf("env epoll: %s (%s)", s.Backend(), s.BackendReason())
	}
	s.Close()
	// An empty WithBackend (an empty -backend flag) leaves the choice to
	// the environment.
	s, err = NewServer(echoHandler(), WithBackend(""), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != BackendEpoll || !strings.Contains(s.BackendReason(), EnvBackend) {
		t.Fatalf("WithBackend(\"\") with env epoll: %s (%s)", s.Backend(), s.BackendReason())
	}
	if s.Features().Caps != 0 || s.Features().Ops != nil {
		t.Fatalf("epoll server reports io_uring features %v", s.Features())
	}
	s.Close()

	t.Setenv(EnvBackend, "bogus")
	if _, err := NewServer(echoHandler()); err == nil {
		t.Fatal("RINGO_BACKEND=bogus accepted")
	}
	if _, err := NewServer(echoHandler(), WithBackend("bogus")); err == nil {
		t.Fatal("WithBackend(bogus) accepted")
	}

	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	t.Setenv(EnvBackend, "epoll")
	s, err = NewServer(echoHandler(), WithBackend(BackendUring), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != BackendUring {
		t.Fatalf("option uring over env epoll: %s", s.Backend())
	}
	s.Close()
	t.Setenv(EnvBackend, "")
	logs := &logBuf{}
	s, err = Listen("tcp", "127.0.0.1:0", echoHandler(), WithLogger(slogTo(logs)), WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != BackendUring || !s.Features().Has(requiredCaps) {
		t.Fatalf("auto: %s (%s) %v", s.Backend(), s.BackendReason(), s.Features())
	}
	s.Start()
	s.Close()
	if !strings.Contains(logs.String(), "backend=uring") || !strings.Contains(logs.String(), "features=") {
		t.Fatalf("backend choice not logged: %q", logs.String())
	}
	// The masked feature that the reactor requires makes auto fall back.
	s, err = NewServer(echoHandler(), withFeatureMask(requiredCaps), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != BackendEpoll || !strings.Contains(s.BackendReason(), "FAST_POLL") {
		t.Fatalf("auto without FAST_POLL: %s (%s)", s.Backend(), s.BackendReason())
	}
	s.Close()
	if _, err := NewServer(echoHandler(), withFeatureMask(requiredCaps), WithBackend(BackendUring)); !errors.Is(err, ErrBackendUnavailable) {
		t.Fatalf("forced uring without FAST_POLL: %v", err)
	}
}

// TestIOUringDisabledFallsBackToEpoll flips kernel.io_uring_disabled (only
// with RINGO_SYSCTL_TESTS=1, as root) and checks that auto serves on epoll.
func TestIOUringDisabledFallsBackToEpoll(t *testing.T) {
	if os.Getenv("RINGO_SYSCTL_TESTS") != "1" {
		t.Skip("set RINGO_SYSCTL_TESTS=1 to flip kernel.io_uring_disabled (affects the whole machine)")
	}
	if os.Geteuid() != 0 {
		t.Skip("flipping kernel.io_uring_disabled needs root")
	}
	const knob = "/proc/sys/kernel/io_uring_disabled"
	old, err := os.ReadFile(knob)
	if err != nil {
		t.Skipf("kernel has no io_uring_disabled sysctl: %v", err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(knob, old, 0o644); err != nil {
			t.Errorf("restoring %s: %v", knob, err)
		}
	})
	if err := os.WriteFile(knob, []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBackend, "")
	s := start(t, BackendAuto, echoHandler())
	if s.Backend() != BackendEpoll {
		t.Fatalf("auto with io_uring disabled chose %s", s.Backend())
	}
	if !strings.Contains(s.BackendReason(), "not permitted") {
		t.Fatalf("reason %q does not name EPERM", s.BackendReason())
	}
	echoRoundTrip(t, dial(t, s), pattern(100<<10, 1))
	if _, err := NewServer(echoHandler(), WithBackend(BackendUring)); !errors.Is(err, ErrBackendUnavailable) {
		t.Fatalf("forced uring with io_uring disabled: %v", err)
	}
}

const seccompHelperEnv = "RINGO_REACTOR_SECCOMP_HELPER"

// TestAutoFallsBackUnderSeccomp re-executes the test binary as a helper that
// installs a seccomp filter denying io_uring_setup (as container runtimes
// do) and serves with backend auto; the parent checks it chose epoll and
// echoes through it.
func TestAutoFallsBackUnderSeccomp(t *testing.T) {
	if os.Getenv(seccompHelperEnv) == "1" {
		seccompHelper()
		return
	}
	parts := strings.SplitN(helperLine(t, "TestAutoFallsBackUnderSeccomp", seccompHelperEnv+"=1", EnvBackend+"="), " ", 3)
	if len(parts) != 3 {
		t.Fatalf("helper line %q", parts)
	}
	addr, backend, reason := parts[0], parts[1], parts[2]
	if backend != string(BackendEpoll) {
		t.Fatalf("auto under seccomp chose %s (%s)", backend, reason)
	}
	if !strings.Contains(reason, "not permitted") {
		t.Fatalf("reason %q does not name EPERM", reason)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoRoundTrip(t, c, pattern(256<<10, 7))
}

// seccompHelper runs in the child: deny io_uring_setup, serve, print the
// address and the backend, serve until stdin closes.
func seccompHelper() {
	if err := netpoll.DenyIOUringForTest(); err != nil {
		fmt.Println("HELPER-SKIP seccomp filter unavailable:", err)
		os.Exit(0)
	}
	s, err := Listen("tcp", "127.0.0.1:0", echoHandler(), WithLoops(1), WithLogger(quietLogger()))
	if err != nil {
		fmt.Println("HELPER-ERR", err)
		os.Exit(1)
	}
	if err := s.Start(); err != nil {
		fmt.Println("HELPER-ERR", err)
		os.Exit(1)
	}
	fmt.Printf("HELPER %s %s %s\n", s.Addr(), s.Backend(), s.BackendReason())
	buf := make([]byte, 1)
	os.Stdin.Read(buf) // until the parent closes stdin
	s.Close()
	os.Exit(0)
}
