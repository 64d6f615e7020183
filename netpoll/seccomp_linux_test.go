//go:build linux

package netpoll

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

const seccompHelperEnv = "NETPOLL_SECCOMP_HELPER"

// TestDenyIOUringForTest re-executes the test binary; the child installs the
// filter and reports what io_uring_setup returns.
func TestDenyIOUringForTest(t *testing.T) {
	if os.Getenv(seccompHelperEnv) == "1" {
		if err := DenyIOUringForTest(); err != nil {
			os.Exit(3)
		}
		var params [120]byte // struct io_uring_params; the call fails before reading it
		_, _, e := unix.Syscall(sysIOUringSetup, 1, uintptrOf(&params), 0)
		if e == unix.EPERM {
			os.Exit(0)
		}
		os.Exit(4)
	}
	if _, ok := auditArch(); !ok {
		t.Skip("seccomp helper knows no audit arch for this GOARCH")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDenyIOUringForTest$")
	cmd.Env = append(os.Environ(), seccompHelperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}
