//go:build linux

package netpoll

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// eventfdParker returns an eventfd and a Parker on it whose ready reads the
// eventfd's counter; both are closed when the test ends.
func eventfdParker(t *testing.T) (*Waker, *Parker) {
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	var buf [8]byte
	ready := func() bool {
		n, _ := unix.Read(w.Fd(), buf[:])
		return n == 8
	}
	p, err := NewParker(w.Fd(), ready)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return w, p
}

// A parked goroutine waits in the runtime's netpoller ("IO wait", holding
// no P), not in a syscall, and wakes when the fd becomes readable.
func TestParkerWakesOnReadable(t *testing.T) {
	w, p := eventfdParker(t)
	done := make(chan error, 1)
	go func() { done <- p.Park(-1) }()
	// Wait (bounded) until the goroutine is parked, and check how.
	state := ""
	for i := 0; i < 200 && !strings.Contains(state, "IO wait"); i++ {
		time.Sleep(5 * time.Millisecond)
		state = parkState()
	}
	if !strings.Contains(state, "IO wait") {
		t.Fatalf("parking goroutine not in IO wait: %q", state)
	}
	w.Wake()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Park did not return after the fd became readable")
	}
}

// Park returns when its time is up, without ready having reported true.
func TestParkerDeadline(t *testing.T) {
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	calls, answer := 0, false
	p, err := NewParker(w.Fd(), func() bool { calls++; return answer })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	if err := p.Park(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 20*time.Millisecond || calls == 0 {
		t.Fatalf("Park returned after %v with %d ready calls", time.Since(start), calls)
	}
	// A later Park without a limit must not inherit the old deadline: it
	// returns only once ready says so (after the wake-up).
	answer = true
	if err := p.Park(-1); err != nil {
		t.Fatal(err)
	}
}

// A regular file cannot be polled by the runtime: NewParker refuses it.
func TestParkerRefusesUnpollable(t *testing.T) {
	fd, err := unix.Open("/proc/self/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skip(err)
	}
	defer unix.Close(fd)
	if p, err := NewParker(fd, func() bool { return true }); err == nil {
		p.Close()
		t.Fatal("NewParker accepted a regular file")
	}
}

// parkState is the state line of the goroutine blocked in Park.
func parkState() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "(*Parker).Park") {
			return strings.SplitN(g, "\n", 2)[0]
		}
	}
	return ""
}

// Wake ends a Park without the fd becoming readable; a Wake while nobody
// parks does nothing, and after woken Parks the next one waits again (the
// past deadline a Wake set is reset) until it is woken or the fd is ready.
func TestParkerWake(t *testing.T) {
	w, p := eventfdParker(t)
	p.Wake() // not parked: nothing to end
	for round := 0; round < 20; round++ {
		done := make(chan error, 1)
		go func() { done <- p.Park(-1) }()
		for i := 0; i < 400 && !strings.Contains(parkState(), "IO wait"); i++ {
			time.Sleep(time.Millisecond)
		}
		select {
		case err := <-done:
			t.Fatalf("round %d: Park returned before any Wake: %v", round, err)
		case <-time.After(20 * time.Millisecond):
		}
		if round%5 == 4 {
			// The fd path still works between Wakes (written directly: the
			// Waker coalesces, and ready reads the fd without Drain).
			one := [8]byte{1}
			if _, err := unix.Write(w.Fd(), one[:]); err != nil {
				t.Fatal(err)
			}
		} else {
			p.Wake()
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Park did not return after Wake", round)
		}
	}
}
