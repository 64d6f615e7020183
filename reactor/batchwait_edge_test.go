//go:build linux

package reactor

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ringo-io/ringo/ring"
)

// A loop serving one ping-pong conn never batches (WithBatchWait's doc and

// A loop serving one ping-pong conn never batches (WithBatchWait's doc and
// commit 8cb6696), whatever the size of its messages.
func TestBatchWaitLoneConnLargeMessages(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	if f, _ := ring.Detect(); !f.Has(ring.CapMinWait) {
		t.Skip("no FEAT_MIN_TIMEOUT")
	}
	for _, size := range []int{4 << 10, 256 << 10, 1 << 20, 4 << 20} {
		s := start(t, BackendUring, echoHandler(), WithLoops(1))
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(time.Minute))
		msg, got := bytes.Repeat([]byte("x"), size), make([]byte, size)
		t0 := time.Now()
		for i := range 20 {
			msg[0] = byte(i)
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		el := time.Since(t0)
		n := 0
		soakOnLoops(t, s, func(l *Loop) { n += l.b.(*uringBackend).nBatchWaits })
		c.Close()
		s.Close()
		t.Logf("size %d: %d batch waits in 200 rounds, %v/round", size, n, el/200)
		if n != 0 {
			t.Errorf("a loop serving one ping-pong conn (%d-byte messages) waited for a batch %d times", size, n)
		}
	}
}

// After a busy spell, an idle loop (with and without a pending timer) sleeps:
// it does not wait for a batch again and again.
func TestBatchWaitIdleAfterBusy(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	if f, _ := ring.Detect(); !f.Has(ring.CapMinWait) {
		t.Skip("no FEAT_MIN_TIMEOUT")
	}
	for _, timer := range []bool{false, true} {
		s := start(t, BackendUring, echoHandler(), WithLoops(1), WithBatchWait(20*time.Microsecond))
		l := s.Loops()[0]
		echoStreams(t, s, 32, 1<<20)
		if timer {
			l.Execute(func() { l.AfterFunc(time.Hour, func() {}) })
		}
		time.Sleep(50 * time.Millisecond)
		var n0, n1 int
		soakOnLoops(t, s, func(l *Loop) { n0 = l.b.(*uringBackend).nBatchWaits })
		time.Sleep(300 * time.Millisecond)
		soakOnLoops(t, s, func(l *Loop) { n1 = l.b.(*uringBackend).nBatchWaits })
		t.Logf("timer %v: batch waits while idle: %d", timer, n1-n0)
		if n1-n0 > 2 {
			t.Errorf("idle loop waited for a batch %d times in 300 ms", n1-n0)
		}
		s.Close()
	}
}
