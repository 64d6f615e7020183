//go:build linux

package reactor

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// loopStates returns the state line of every goroutine serving a loop in the process
// ("goroutine 7 [IO wait]:", "goroutine 9 [syscall, locked to thread]:").
func loopStates() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var states []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "reactor.(*Loop).serve(") {
			states = append(states, strings.SplitN(g, "\n", 2)[0])
		}
	}
	return states
}

// waitLoopState polls (bounded) until the server's only loop goroutine is
// idle in a state containing want, and returns the last state seen.
func waitLoopState(want string) string {
	last := ""
	for i := 0; i < 400; i++ {
		if st := loopStates(); len(st) == 1 {
			last = st[0]
			if strings.Contains(last, want) {
				return last
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return last
}

// An idle parked loop waits in the runtime's netpoller, holding no P and no
// thread ("IO wait"); an idle locked loop blocks its thread in a syscall.
// With the default backend, parked loops choose epoll; forced io_uring
// loops stay locked.
func TestParkedLoopIdleHoldsNoP(t *testing.T) {
	t.Run("parked", func(t *testing.T) {
		s := start(t, BackendAuto, echoHandler(), WithParkedLoops(true), WithLoops(1))
		if s.Backend() != BackendEpoll || !strings.Contains(s.BackendReason(), "parked") {
			t.Fatalf("parked loops chose %s (%s), want epoll", s.Backend(), s.BackendReason())
		}
		c := dial(t, s)
		echoRoundTrip(t, c, []byte("before"))
		if st := waitLoopState("IO wait"); !strings.Contains(st, "IO wait") || strings.Contains(st, "locked") {
			t.Fatalf("idle parked loop: %q, want IO wait, not locked", st)
		}
		echoRoundTrip(t, c, []byte("after parking"))
	})
	t.Run("locked", func(t *testing.T) {
		s := start(t, BackendEpoll, echoHandler(), WithLoops(1))
		echoRoundTrip(t, dial(t, s), []byte("x"))
		if st := waitLoopState("syscall"); !strings.Contains(st, "syscall") || !strings.Contains(st, "locked to thread") {
			t.Fatalf("idle locked loop: %q, want a syscall on its locked thread", st)
		}
	})
	t.Run("uring-stays-locked", func(t *testing.T) {
		if err := uringAvailable(); err != nil {
			t.Skipf("io_uring unusable here: %v", err)
		}
		s := start(t, BackendUring, echoHandler(), WithParkedLoops(true), WithLoops(1))
		echoRoundTrip(t, dial(t, s), []byte("x"))
		if st := waitLoopState("locked to thread"); !strings.Contains(st, "locked to thread") {
			t.Fatalf("io_uring loop with WithParkedLoops: %q, want locked", st)
		}
	})
}
