//go:build linux

package ring

import (
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// newRing creates a ring on the test goroutine, locked to its OS thread
// (New may pick SINGLE_ISSUER), and closes it at cleanup.
func newRing(t testing.TB, cfg Config) *Ring {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread) // runs after Close (cleanups are LIFO)
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// detected runs Detect once per test binary (test hook state).
var detected = sync.OnceValues(Detect)

// requireCap skips the test, naming the kernel feature, when Detect did not
// find every capability in c.
func requireCap(t testing.TB, c Cap) {
	t.Helper()
	f, err := detected()
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	if !f.Has(c) {
		t.Skipf("kernel lacks io_uring feature %s (have %s)", c&^f.Caps, f.Caps)
	}
}

// requireOp skips the test when the kernel does not support opcode op.
func requireOp(t testing.TB, r *Ring, op uint8) {
	t.Helper()
	p, err := r.Probe()
	if err != nil {
		t.Skipf("io_uring probe unavailable (kernel < 5.6): %v", err)
	}
	if !p.Supports(op) {
		t.Skipf("kernel lacks io_uring opcode %d", op)
	}
}

// heapBuf returns n bytes that live on the heap: the kernel writes into
// them after Submit, so they must not be on a goroutine stack, which moves.
//
//go:noinline
func heapBuf(n int) []byte { return make([]byte, n) }

// socketpair returns a blocking AF_UNIX stream pair closed at cleanup.
func socketpair(t testing.TB) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds
}

// listener returns a blocking TCP listener on 127.0.0.1 and its port.
func listener(t testing.TB) (int, int) {
	t.Helper()
	fd, port, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, port
}

// dial connects to 127.0.0.1:port; closed at cleanup.
func dial(t testing.TB, port int) int {
	t.Helper()
	fd, err := dialLoopback(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// tcpPair returns a connected loopback TCP pair (client, server).
func tcpPair(t testing.TB) (int, int) {
	t.Helper()
	ln, port := listener(t)
	c := dial(t, port)
	s, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(s) })
	return c, s
}

// reapWait bounds every wait for CQEs in tests. It is a safety net against
// hangs, not a timing assertion.
const reapWait = 5 * time.Second

// reap submits and collects copies of CQEs until n have arrived; it fails
// the test if they do not within reapWait.
func reap(t testing.TB, r *Ring, n int) []CQE {
	t.Helper()
	got, err := reapN(r, n, reapWait)
	if err != nil {
		t.Fatalf("reap %d CQEs: %v (got %d: %+v)", n, err, len(got), got)
	}
	return got
}

// reapN collects exactly n CQEs (copied), or fewer at the deadline.
func reapN(r *Ring, n int, wait time.Duration) ([]CQE, error) {
	var got []CQE
	deadline := time.Now().Add(wait)
	var batch [64]*CQE
	for len(got) < n {
		if _, err := r.SubmitAndWaitTimeout(uint32(n-len(got)), 20*time.Millisecond); err != nil {
			return got, err
		}
		k := r.PeekBatch(batch[:min(len(batch), n-len(got))]) // leave extra CQEs for the next reap
		for _, c := range batch[:k] {
			got = append(got, *c)
		}
		r.CQAdvance(uint32(k))
		if len(got) < n && time.Now().After(deadline) {
			return got, errTimeout
		}
	}
	return got, nil
}

var errTimeout = unix.ETIMEDOUT

// quiet asserts no CQE arrives within a short wait (used only to show that
// something did NOT happen, e.g. a multishot that must be over).
func quiet(t testing.TB, r *Ring) {
	t.Helper()
	got, _ := reapN(r, 1, 50*time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("unexpected CQE %+v", got)
	}
}

// sqe gets an SQE or fails.
func sqe(t testing.TB, r *Ring) *SQE {
	t.Helper()
	s := r.GetSQE()
	if s == nil {
		t.Fatal("GetSQE: SQ full")
	}
	return s
}

// byUD indexes CQEs by user data (last wins) and checks there is exactly one each.
func byUD(t testing.TB, cqes []CQE) map[uint64]CQE {
	t.Helper()
	m := make(map[uint64]CQE, len(cqes))
	for _, c := range cqes {
		if _, dup := m[c.UserData]; dup {
			t.Fatalf("two CQEs with user data %d: %+v", c.UserData, cqes)
		}
		m[c.UserData] = c
	}
	return m
}

// heapT returns a zero T on the heap (see heapBuf).
//
//go:noinline
func heapT[T any]() *T { return new(T) }

// loopbackAddr is 127.0.0.1:port as a heap sockaddr for PrepConnect.
func loopbackAddr(port int) (*unix.RawSockaddrAny, uint32) {
	sa := heapT[unix.RawSockaddrAny]()
	in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
	in4.Family = unix.AF_INET
	p := (*[2]byte)(unsafe.Pointer(&in4.Port))
	p[0], p[1] = byte(port>>8), byte(port) // network byte order
	in4.Addr = [4]byte{127, 0, 0, 1}
	return sa, uint32(unsafe.Sizeof(*in4))
}

// readAll reads exactly n bytes from a blocking fd.
func readAll(t testing.TB, fd, n int) []byte {
	t.Helper()
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(out) < n {
		k, err := unix.Read(fd, buf[:n-len(out)])
		if err != nil || k <= 0 {
			t.Fatalf("read after %d of %d bytes: %d, %v", len(out), n, k, err)
		}
		out = append(out, buf[:k]...)
	}
	return out
}

// write writes all of b to a blocking fd.
func write(t testing.TB, fd int, b []byte) {
	t.Helper()
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		b = b[n:]
	}
}

// res checks a CQE result.
func wantRes(t testing.TB, what string, c CQE, want int32) {
	t.Helper()
	if c.Res != want {
		t.Fatalf("%s: res %d (%v), want %d (%v)", what, c.Res, Errno(c.Res), want, Errno(want))
	}
}
