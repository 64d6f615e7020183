//go:build linux

package ring

import (
	"os"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func openFDs(t *testing.T) map[int]bool {
	m := map[int]bool{}
	for fd := 0; fd < 4096; fd++ { // fcntl opens no fd, as a /proc listing would
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			m[fd] = true
		}
	}
	return m
}

// (g) Detect's multishot-accept probe, when its second dial fails (EMFILE)
// after the first conn was accepted: the accept CQE is collected by
// cancelAll, after the loop that closes accepted fds, and its fd leaks. On
// a ring without DEFER_TASKRUN (kernels 5.19-6.0) the accept runs as task
// work on return from the first connect(2), before the second socket(2).
func TestReview19DetectAcceptProbeLeak(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(Config{Entries: 16, Disable: SetupSingleIssuer | SetupDeferTaskrun | SetupCoopTaskrun})
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	d := detector{r: r}
	before := openFDs(t)
	// Room for 3 more fds: the listener, the first dial, its accepted conn.
	free := 0
	limit := 0
	for fd := 0; ; fd++ {
		if !before[fd] {
			free++
			if free == 3 {
				limit = fd + 1
				break
			}
		}
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(limit)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	t.Logf("limit %d (open before: %v)", limit, before)
	ok := d.multishotAccept()
	unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	after := openFDs(t)
	var leaked []int
	for fd := range after {
		if !before[fd] {
			leaked = append(leaked, fd)
		}
	}
	for _, fd := range leaked {
		link, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		t.Logf("fd %d: %s", fd, link)
	}
	t.Logf("multishotAccept %v, got %d CQEs", ok, len(d.got))
	for _, c := range d.got {
		t.Logf("cqe ud %d res %d flags %#x", c.UserData, c.Res, c.Flags)
	}
	if len(leaked) > 0 {
		for _, fd := range leaked {
			unix.Close(fd)
		}
		t.Fatalf("multishotAccept left %d fds open: %v", len(leaked), leaked)
	}
}
