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

func TestWithBatchWaitBounds(t *testing.T) {
	for _, d := range []time.Duration{-1, time.Millisecond + 1} {
		if _, err := Listen("tcp", "127.0.0.1:0", echoHandler(), WithBatchWait(d)); err == nil {
			t.Fatalf("WithBatchWait(%v) accepted", d)
		}
	}
}

// A busy io_uring loop waits for a batch of completions; a loop serving one
// ping-pong conn never does (it would add latency to every request), nor
// does a busy loop with batching off. Every byte is echoed in all three.
func TestBatchWait(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	if f, _ := ring.Detect(); !f.Has(ring.CapMinWait) {
		t.Skip("kernel lacks IORING_FEAT_MIN_TIMEOUT (6.12): no batch wait")
	}
	batchWaits := func(s *Server) (n int) {
		soakOnLoops(t, s, func(l *Loop) { n += l.b.(*uringBackend).nBatchWaits })
		return n
	}

	t.Run("lone conn", func(t *testing.T) {
		s := start(t, BackendUring, echoHandler(), WithLoops(1), WithBatchWait(time.Millisecond))
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		msg, got := []byte("0123456789abcdef"), make([]byte, 16)
		for i := range 2000 {
			msg[0] = byte(i)
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("round %d: %q, %v", i, got, err)
			}
		}
		if n := batchWaits(s); n != 0 {
			t.Fatalf("a loop serving one ping-pong conn waited for a batch %d times", n)
		}
	})

	for _, on := range []bool{true, false} {
		name := map[bool]string{true: "busy", false: "busy, batching off"}[on]
		t.Run(name, func(t *testing.T) {
			w := time.Duration(0)
			if on {
				w = DefaultBatchWait
			}
			s := start(t, BackendUring, echoHandler(), WithLoops(1), WithBatchWait(w))
			echoStreams(t, s, 64, 1<<20)
			n := batchWaits(s)
			t.Logf("batch waits: %d", n)
			if on && n == 0 {
				t.Fatal("64 streaming conns: the loop never waited for a batch")
			}
			if !on && n != 0 {
				t.Fatalf("batching off: %d batch waits", n)
			}
		})
	}
}
