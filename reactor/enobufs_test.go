//go:build linux

package reactor

import (
	"testing"

	"github.com/ringo-io/ringo/ring"
)

// TestBufferRingExhaustionDoesNotSpinOnENOBUFS is the regression test of
// the ENOBUFS spin (docs/RELIABILITY.md, finding 1): a multishot recv that
// ended with -ENOBUFS was re-armed at once and, while the buffer ring stayed
// dry, failed again at once, so with many busy conns and few buffers the
// loop reaped tens of -ENOBUFS completions per buffer of data (62.6 in the
// full TestSoakBufferRingPressure). Starved conns now wait for free buffers.
// 256 conns stream 64 KiB each, at once, through 4 x 512 B buffers per loop;
// every byte must come back, and the -ENOBUFS completions per 512 B of data
// must stay below 4 (0.25 measured; the spin gave 10-14 here).
func TestBufferRingExhaustionDoesNotSpinOnENOBUFS(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	f, _ := ring.Detect()
	if !f.Has(ring.CapMultishotRecv | ring.CapBufRing) {
		t.Skip("kernel lacks multishot recv with buffer rings (6.0)")
	}
	const conns, size = 256, 64 << 10
	raiseNoFile(t, 2*conns+512)
	s := start(t, BackendUring, echoHandler(), WithBufferRing(512, 4))
	echoStreams(t, s, conns, size)
	var enobufs int
	var ringUsed bool
	soakOnLoops(t, s, func(l *Loop) {
		ub := l.b.(*uringBackend)
		enobufs += ub.nENOBUFS
		ringUsed = ringUsed || ub.multiRecv
	})
	if !ringUsed {
		t.Skip("the server fell back to single-shot recv (no buffer ring)")
	}
	bufs := conns * size / 512
	ratio := float64(enobufs) / float64(bufs)
	t.Logf("ENOBUFS %d for %d buffers of data: %.2f per buffer", enobufs, bufs, ratio)
	if enobufs == 0 {
		t.Fatal("the provided buffers never ran out: the test did not exhaust the ring")
	}
	if ratio >= 4 {
		t.Fatalf("%.1f ENOBUFS completions per buffer of data (bound 4): the loop spins on an empty buffer ring", ratio)
	}
}
