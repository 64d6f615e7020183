//go:build linux

package ring

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const optionalFlags = SetupSubmitAll | SetupCQSize | SetupNoSQArray

func TestSetupBestFlags(t *testing.T) {
	requireCap(t, CapSingleIssuer|CapDeferTaskrun|CapSubmitAll|CapNoSQArray)
	r := newRing(t, Config{Entries: 4})
	want := SetupSingleIssuer | SetupDeferTaskrun | SetupTaskrunFlag | optionalFlags
	if r.SetupFlags() != want {
		t.Fatalf("SetupFlags = %#x, want %#x", r.SetupFlags(), want)
	}
	if r.FeatFlags()&FeatNoDrop == 0 {
		t.Fatalf("FeatFlags = %#x without NODROP", r.FeatFlags())
	}
}

// Degradation: a ring is still created when flags are refused, and gets the
// best remaining flags. "refuse" simulates EINVAL for a flag; "extra" adds
// a flag the real kernel refuses (an unknown bit).
func TestSetupDegrade(t *testing.T) {
	requireCap(t, CapSingleIssuer|CapDeferTaskrun|CapCoopTaskrun|CapSubmitAll|CapNoSQArray)
	const unknownBit = 1 << 30
	cases := []struct {
		name  string
		cfg   Config
		hooks setupHooks
		want  uint32
	}{
		{"default", Config{}, setupHooks{}, SetupSingleIssuer | SetupDeferTaskrun | SetupTaskrunFlag | optionalFlags},
		{"kernel refuses unknown flag", Config{}, setupHooks{extra: unknownBit}, SetupSingleIssuer | SetupDeferTaskrun | SetupTaskrunFlag | optionalFlags},
		{"refused DEFER_TASKRUN", Config{}, setupHooks{refuse: SetupDeferTaskrun}, SetupCoopTaskrun | SetupTaskrunFlag | optionalFlags},
		{"refused NO_SQARRAY", Config{}, setupHooks{refuse: SetupNoSQArray}, SetupSingleIssuer | SetupDeferTaskrun | SetupTaskrunFlag | SetupSubmitAll | SetupCQSize},
		{"refused SUBMIT_ALL and COOP_TASKRUN", Config{}, setupHooks{refuse: SetupSubmitAll | SetupDeferTaskrun | SetupCoopTaskrun}, SetupCQSize | SetupNoSQArray},
		{"refused SUBMIT_ALL keeps newer NO_SQARRAY", Config{}, setupHooks{refuse: SetupSubmitAll}, SetupSingleIssuer | SetupDeferTaskrun | SetupTaskrunFlag | SetupCQSize | SetupNoSQArray},
		{"disable SINGLE_ISSUER", Config{Disable: SetupSingleIssuer}, setupHooks{}, SetupCoopTaskrun | SetupTaskrunFlag | optionalFlags},
		// TASKRUN_FLAG without COOP_TASKRUN or DEFER_TASKRUN: the real kernel
		// answers EINVAL and New falls back to no taskrun flags.
		{"kernel refuses lone TASKRUN_FLAG", Config{Disable: SetupSingleIssuer | SetupCoopTaskrun}, setupHooks{}, optionalFlags},
		{"disable all optional", Config{Disable: optionalFlags | SetupSingleIssuer | SetupCoopTaskrun | SetupTaskrunFlag}, setupHooks{}, 0},
		{"require COOP_TASKRUN", Config{Require: SetupCoopTaskrun | SetupTaskrunFlag, Disable: SetupDeferTaskrun}, setupHooks{}, SetupSingleIssuer | SetupCoopTaskrun | SetupTaskrunFlag | optionalFlags},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r, err := newWithHooks(c.cfg, c.hooks)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer r.Close()
			if r.SetupFlags() != c.want {
				t.Fatalf("SetupFlags = %#x, want %#x", r.SetupFlags(), c.want)
			}
			// The degraded ring works.
			s := sqe(t, r)
			s.PrepNop()
			s.SetUserData(7)
			if got := reap(t, r, 1); got[0].UserData != 7 || got[0].Res != 0 {
				t.Fatalf("NOP CQE %+v", got[0])
			}
		})
	}
}

func TestSetupRequireRefused(t *testing.T) {
	_, err := newWithHooks(Config{Require: SetupNoSQArray}, setupHooks{refuse: SetupNoSQArray})
	if !errors.Is(err, unix.EINVAL) || errors.Is(err, ErrUnsupported) {
		t.Fatalf("required flag refused: err = %v, want EINVAL", err)
	}
}

func TestConfigRejected(t *testing.T) {
	for _, cfg := range []Config{
		{Entries: maxEntries + 1},
		{Entries: 64, CQEntries: 32},
		{Entries: 64, CQEntries: maxCQEntries + 1},
		{Require: SetupSQPoll},
		{Require: SetupCQE32},
		{Require: SetupSingleIssuer, Disable: SetupSingleIssuer},
	} {
		r, err := New(cfg)
		if err == nil {
			r.Close()
			t.Fatalf("New(%+v) succeeded", cfg)
		}
		if !errors.Is(err, unix.EINVAL) {
			t.Fatalf("New(%+v) = %v, want EINVAL", cfg, err)
		}
	}
}

// ENOSYS, EPERM and ENOMEM mean "no io_uring here": ErrUnsupported with the
// cause kept. Other errnos are not.
func TestUnsupportedMapping(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM, unix.ENOMEM} {
		err := unsupported("io_uring_setup", errno)
		if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errno) {
			t.Errorf("%v: errors.Is(ErrUnsupported)=%v Is(errno)=%v", errno, errors.Is(err, ErrUnsupported), errors.Is(err, errno))
		}
		// Through New's real path, with the setup syscall failing.
		_, err = newWithHooks(Config{}, setupHooks{fail: errno})
		if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errno) {
			t.Errorf("New with %v: %v", errno, err)
		}
	}
	for _, errno := range []unix.Errno{unix.EINVAL, unix.EFAULT, unix.EMFILE} {
		err := unsupported("io_uring_setup", errno)
		if errors.Is(err, ErrUnsupported) || !errors.Is(err, errno) {
			t.Errorf("%v mapped to %v", errno, err)
		}
	}
}

// TestIOUringDisabledSysctl flips kernel.io_uring_disabled to 2: New and
// Detect must return ErrUnsupported wrapping EPERM.
func TestIOUringDisabledSysctl(t *testing.T) {
	if os.Getenv("RINGO_SYSCTL_TESTS") != "1" {
		t.Skip("changes kernel.io_uring_disabled for the whole machine: set RINGO_SYSCTL_TESTS=1 (make test-serial)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to write kernel.io_uring_disabled")
	}
	const knob = "/proc/sys/kernel/io_uring_disabled"
	old, err := os.ReadFile(knob)
	if err != nil {
		t.Skipf("kernel has no io_uring_disabled sysctl (before 6.6): %v", err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(knob, old, 0o644); err != nil {
			t.Errorf("restore %s to %q: %v", knob, strings.TrimSpace(string(old)), err)
		}
	})
	if err := os.WriteFile(knob, []byte("2\n"), 0o644); err != nil {
		t.Fatalf("write %s: %v", knob, err)
	}
	r, err := New(Config{Disable: SetupSingleIssuer})
	if err == nil {
		r.Close()
		t.Fatal("New succeeded with io_uring disabled")
	}
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, unix.EPERM) {
		t.Fatalf("New = %v, want ErrUnsupported wrapping EPERM", err)
	}
	if _, err := Detect(); !errors.Is(err, ErrUnsupported) || !errors.Is(err, unix.EPERM) {
		t.Fatalf("Detect = %v, want ErrUnsupported wrapping EPERM", err)
	}
}

// After Close every method reports ErrClosed or does nothing; none crashes.
func TestClosedRing(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(Config{Entries: 4})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.NewBufRing(1, 4, 32, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := sqe(t, r)
	s.PrepNop() // prepared, never submitted
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if r.Fd() != -1 {
		t.Fatalf("Fd after Close = %d", r.Fd())
	}
	if r.GetSQE() != nil {
		t.Fatal("GetSQE after Close returned an SQE")
	}
	if _, err := r.Submit(); err != ErrClosed {
		t.Fatalf("Submit: %v", err)
	}
	if _, err := r.SubmitAndWait(1); err != ErrClosed {
		t.Fatalf("SubmitAndWait: %v", err)
	}
	if _, err := r.SubmitAndWaitTimeout(1, 1); err != ErrClosed {
		t.Fatalf("SubmitAndWaitTimeout: %v", err)
	}
	var dst [4]*CQE
	if r.PeekBatch(dst[:]) != 0 || r.CQReady() != 0 || r.SQReady() != 0 || r.SQSpace() != 0 || r.CQOverflowed() || r.CQDropped() != 0 {
		t.Fatal("queue state after Close")
	}
	r.CQAdvance(1)
	if _, err := r.NewBufRing(2, 4, 32, 0); err != ErrClosed {
		t.Fatalf("NewBufRing: %v", err)
	}
	if _, err := r.Probe(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Probe: %v", err)
	}
	if err := r.RegisterFilesSparse(4); !errors.Is(err, ErrClosed) {
		t.Fatalf("RegisterFilesSparse: %v", err)
	}
	if err := r.UpdateFiles(0, []int32{-1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("UpdateFiles: %v", err)
	}
	if err := r.UnregisterFiles(); !errors.Is(err, ErrClosed) {
		t.Fatalf("UnregisterFiles: %v", err)
	}
	if err := r.RegisterRingFd(); err != ErrClosed {
		t.Fatalf("RegisterRingFd: %v", err)
	}
	// The buffer ring was closed with its Ring.
	if b.Buf(0) != nil {
		t.Fatal("Buf after Close")
	}
	if err := b.Recycle(0); err != ErrClosed {
		t.Fatalf("Recycle: %v", err)
	}
	b.Publish()
	if err := b.Close(); err != nil {
		t.Fatalf("BufRing.Close after Ring.Close: %v", err)
	}
}

// Config.Disable's own example (SINGLE_ISSUER|DEFER_TASKRUN for a ring not
// driven from a locked thread) must still get the next tier,
// COOP_TASKRUN|TASKRUN_FLAG, on a kernel that has it (New's doc: "tries
// SINGLE_ISSUER|DEFER_TASKRUN, else COOP_TASKRUN|TASKRUN_FLAG, else
// neither").
func TestSetupDisableFirstTierKeepsCoop(t *testing.T) {
	requireCap(t, CapCoopTaskrun)
	r := newRing(t, Config{Entries: 4, Disable: SetupSingleIssuer | SetupDeferTaskrun})
	want := uint32(SetupCoopTaskrun | SetupTaskrunFlag)
	if r.SetupFlags()&want != want {
		t.Fatalf("SetupFlags = %#x: COOP_TASKRUN|TASKRUN_FLAG (%#x) not tried", r.SetupFlags(), want)
	}
}
