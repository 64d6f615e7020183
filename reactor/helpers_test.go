//go:build linux

package reactor

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
	"github.com/ringo-io/ringo/ring"
	"golang.org/x/sys/unix"
)

// forEachBackend runs f once per backend: epoll on locked loops and on
// parked ones (WithParkedLoops), io_uring with every feature this kernel
// has, and io_uring masked down to what 5.7 offers (single-shot accept and
// recv, no buffer ring, no task-run flags), so the whole suite covers the
// oldest path too. The io_uring legs are skipped, with the reason, where
// io_uring is unusable.
func forEachBackend(t *testing.T, f func(t *testing.T, b Backend)) {
	t.Helper()
	legs := []struct {
		name   string
		b      Backend
		mask   ring.Cap
		parked bool
	}{
		{"epoll", BackendEpoll, 0, false},
		{"epoll-parked", BackendEpoll, 0, true},
		{"uring", BackendUring, 0, false},
		{"uring-5.7", BackendUring, kernelGenerations[0].mask, false},
	}
	for _, leg := range legs {
		t.Run(leg.name, func(t *testing.T) {
			if leg.b == BackendUring {
				if err := uringAvailable(); err != nil {
					t.Skipf("io_uring unusable here: %v", err)
				}
			}
			testHookFeatureMask, testHookParked = leg.mask, leg.parked
			t.Cleanup(func() { testHookFeatureMask, testHookParked = 0, false })
			f(t, leg.b)
		})
	}
}

// testHookFeatureMask is the test hook through which forEachBackend's
// masked leg reaches every server a test makes (via legBackend). Tests in
// this package do not run in parallel.
var testHookFeatureMask ring.Cap

// testHookParked makes legBackend park epoll loops (forEachBackend's
// epoll-parked leg).
var testHookParked bool

// legBackend is WithBackend(b) plus the current leg's feature mask.
func legBackend(b Backend) Option {
	return func(c *config) error {
		if err := WithBackend(b)(c); err != nil {
			return err
		}
		if b == BackendUring {
			c.featureMask |= testHookFeatureMask
		}
		if b == BackendEpoll && testHookParked {
			c.parked = true
		}
		return nil
	}
}

func uringAvailable() error {
	f, err := ring.Detect()
	if err != nil {
		return err
	}
	return uringUsable(f)
}

// quietLogger discards logs; panicLogger records them for assertions.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// echoHandler writes back what it reads.
func echoHandler() HandlerFuncs {
	return HandlerFuncs{Data: func(c *Conn, d []byte) int {
		c.Write(d)
		return len(d)
	}}
}

// start listens on loopback with backend b and starts the server; Cleanup
// closes it.
func start(t testing.TB, b Backend, h Handler, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{legBackend(b), WithLoops(2), WithLogger(quietLogger())}, opts...)
	s, err := Listen("tcp", "127.0.0.1:0", h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if b != BackendAuto && s.Backend() != b {
		t.Fatalf("backend %s, want %s (%s)", s.Backend(), b, s.BackendReason())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t testing.TB, s *Server) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// pattern returns n deterministic pseudo-random bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// echoRoundTrip writes data (from a goroutine) and reads len(data) back,
// comparing checksums.
func echoRoundTrip(t testing.TB, c net.Conn, data []byte) {
	t.Helper()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		werr <- err
	}()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read %d bytes: %v", len(data), err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("echo of %d bytes differs", len(data))
	}
}

// Resource accounting for leak checks.

// countRingMaps counts io_uring mappings in /proc/self/maps (ring and SQE
// arrays are mapped from the ring fd, which shows as [io_uring]).
func countRingMaps() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1
	}
	return strings.Count(string(b), "io_uring")
}

// leakBufRing is a buffer ring geometry whose slab (12 KiB x 128 =
// 1.5 MiB) has a size no other mapping of the test process has, so the
// slabs can be counted in /proc/self/maps.
func leakBufRing() Option { return WithBufferRing(leakBufSize, leakBufCount) }

const leakBufSize, leakBufCount = 12 << 10, 128

// countSlabMaps counts anonymous mappings of exactly the leakBufRing slab size.
func countSlabMaps() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		var lo, hi uint64
		if _, err := fmt.Sscanf(line, "%x-%x", &lo, &hi); err == nil && hi-lo == leakBufSize*leakBufCount {
			n++
		}
	}
	return n
}

type resources struct{ fds, goroutines, ringMaps, slabs int }

func snapshot() resources {
	return resources{reactortest.CountFDs(), runtime.NumGoroutine(), countRingMaps(), countSlabMaps()}
}

// checkNoLeaks waits (bounded) until fds, goroutines and io_uring mappings
// are back to the baseline.
func checkNoLeaks(t testing.TB, before resources) {
	t.Helper()
	var now resources
	deadline := time.Now().Add(10 * time.Second)
	for {
		now = snapshot()
		if now.fds <= before.fds && now.goroutines <= before.goroutines && now.ringMaps <= before.ringMaps && now.slabs <= before.slabs {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: before %+v after %+v\n%s", before, now, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// raiseNoFile raises RLIMIT_NOFILE to at least n (best effort).
func raiseNoFile(t testing.TB, n uint64) uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur < n {
		old := rl
		rl.Cur = min(n, rl.Max)
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err == nil {
			t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
		}
		unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur
}

// closeRecorder records OnClose errors.
type closeRecorder struct {
	mu   sync.Mutex
	errs []error
	ch   chan error
}

func newCloseRecorder() *closeRecorder { return &closeRecorder{ch: make(chan error, 10000)} }

func (r *closeRecorder) record(c *Conn, err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	r.ch <- err
}

func (r *closeRecorder) next(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.ch:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("OnClose not called")
		return nil
	}
}

var errAny = errors.New("any")

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// echoEachConn echoes a message naming tag, the worker and the conn on every
// conn of conns[w], one goroutine per worker, each conn with deadline d; it
// sends the first failure of each worker to errs and returns when all are done.
func echoEachConn(conns [][]net.Conn, tag string, d time.Duration, errs chan<- error) {
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for i, c := range conns[w] {
				msg := fmt.Appendf(nil, "%s %d/%d", tag, w, i)
				c.SetDeadline(time.Now().Add(d))
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil || !bytes.Equal(buf[:len(msg)], msg) {
					errs <- fmt.Errorf("echo %q: got %q, %v", msg, buf[:len(msg)], err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// awaitConn returns the conn a handler sent on ch, or fails t with what after 5 s.
func awaitConn(t testing.TB, ch <-chan *Conn, what string) *Conn {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal(what)
		return nil
	}
}

// startOpened starts a one-loop server with h and connects a client; h's OnOpen sends its
// conn on opened. Both are closed when the test ends.
func startOpened(t testing.TB, b Backend, h Handler, opened <-chan *Conn) (*Server, *net.TCPConn, *Conn) {
	t.Helper()
	s := start(t, b, h, WithLoops(1))
	t.Cleanup(func() { s.Close() })
	cl := dial(t, s)
	t.Cleanup(func() { cl.Close() })
	return s, cl, awaitConn(t, opened, "no OnOpen")
}

// helperLine re-executes the test binary to run only the test name, with env added, and
// returns what follows "HELPER " on the first such line it prints; a "HELPER-SKIP" line skips
// the test and a "HELPER-ERR" line fails it. The child serves until the test ends: its stdin is
// closed then, and it is killed if it has not exited 10 s later.
func helperLine(t *testing.T, name string, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "HELPER "); ok {
			return rest
		}
		if strings.HasPrefix(line, "HELPER-SKIP") {
			t.Skip(line)
		}
		if strings.HasPrefix(line, "HELPER-ERR") {
			t.Fatal(line)
		}
	}
	t.Fatal("the helper process printed no HELPER line")
	return ""
}
