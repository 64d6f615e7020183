//go:build linux

package reactor

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ringo-io/ringo/ring"
)

// kernelGenerations maps a kernel release to the caps it lacks compared to
// this kernel; each runs the echo suite on the io_uring backend, so every
// degraded path (single-shot accept and recv, no buffer ring, no bundles,
// no DEFER_TASKRUN or SINGLE_ISSUER, ...) is exercised here.
var kernelGenerations = []struct {
	name string
	mask ring.Cap
}{
	{"5.7", ring.CapMultishotAccept | ring.CapMultishotRecv | ring.CapBufRing | ring.CapRecvBundle |
		ring.CapIncrementalBuf | ring.CapSendZC | ring.CapMsgRing | ring.CapExtArg | ring.CapSingleIssuer |
		ring.CapDeferTaskrun | ring.CapCoopTaskrun | ring.CapNoSQArray | ring.CapSubmitAll |
		ring.CapRegisteredRing | ring.CapSocket | ring.CapCancelFd | ring.CapRecvLimit | ring.CapMinWait},
	{"5.11", ring.CapMultishotAccept | ring.CapMultishotRecv | ring.CapBufRing | ring.CapRecvBundle |
		ring.CapIncrementalBuf | ring.CapSendZC | ring.CapMsgRing | ring.CapSingleIssuer |
		ring.CapDeferTaskrun | ring.CapCoopTaskrun | ring.CapNoSQArray | ring.CapSubmitAll |
		ring.CapRegisteredRing | ring.CapSocket | ring.CapCancelFd | ring.CapRecvLimit | ring.CapMinWait},
	{"5.19", ring.CapMultishotRecv | ring.CapRecvBundle | ring.CapIncrementalBuf | ring.CapSendZC |
		ring.CapSingleIssuer | ring.CapDeferTaskrun | ring.CapNoSQArray | ring.CapRecvLimit | ring.CapMinWait},
	{"6.0", ring.CapRecvBundle | ring.CapIncrementalBuf | ring.CapDeferTaskrun | ring.CapNoSQArray | ring.CapRecvLimit | ring.CapMinWait},
	{"6.1", ring.CapRecvBundle | ring.CapIncrementalBuf | ring.CapNoSQArray | ring.CapRecvLimit | ring.CapMinWait},
	{"6.10", ring.CapIncrementalBuf | ring.CapRecvLimit | ring.CapMinWait},
	{"6.12", ring.CapRecvLimit}, // no length cap on multishot recv (6.17): no peerFailed check
	{"full", 0},
}

func TestEchoUnderFeatureMasks(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	for _, gen := range kernelGenerations {
		t.Run(gen.name, func(t *testing.T) {
			det, _ := ring.Detect()
			want := det.Without(gen.mask)
			s := start(t, BackendUring, echoHandler(), withFeatureMask(gen.mask), WithBufferRing(2048, 4))
			if got := s.Features().Caps; got != want.Caps {
				t.Fatalf("features %s, want %s", got, want.Caps)
			}
			// The loop uses the strategy the caps allow, and the ring the
			// setup flags they allow.
			info := make(chan string, 1)
			l := s.Loops()[0]
			l.Execute(func() {
				b := l.b.(*uringBackend)
				info <- fmt.Sprintf("%v %v %v %v %v %#x", b.multiAccept, b.multiRecv, b.bundle, b.r.UsesExtArg(), b.r.UsesMinWait(), b.r.SetupFlags())
			})
			var ma, mr, bu, ext, minWait bool
			var flags uint32
			fmt.Sscanf(<-info, "%t %t %t %t %t %x", &ma, &mr, &bu, &ext, &minWait, &flags)
			if ext != want.Has(ring.CapExtArg) || minWait != want.Has(ring.CapMinWait) {
				t.Fatalf("ring waits with EXT_ARG=%v, min-wait=%v for caps %s", ext, minWait, want.Caps)
			}
			// A loop timer makes the loop wait with a timeout (EXT_ARG, or
			// the TIMEOUT SQE when masked): it must fire.
			fired := make(chan struct{})
			l.Execute(func() { l.AfterFunc(3*time.Millisecond, func() { close(fired) }) })
			select {
			case <-fired:
			case <-time.After(20 * time.Second):
				t.Fatal("loop timer did not fire")
			}
			if ma != want.Has(ring.CapMultishotAccept) || mr != want.Has(ring.CapMultishotRecv|ring.CapBufRing) ||
				bu != (mr && want.Has(ring.CapRecvBundle)) {
				t.Fatalf("strategy multishot-accept=%v multishot-recv=%v bundle=%v for caps %s", ma, mr, bu, want.Caps)
			}
			if !want.Has(ring.CapDeferTaskrun) && flags&ring.SetupDeferTaskrun != 0 {
				t.Fatalf("DEFER_TASKRUN in effect (%#x) though masked", flags)
			}
			if !want.Has(ring.CapSingleIssuer) && flags&ring.SetupSingleIssuer != 0 {
				t.Fatalf("SINGLE_ISSUER in effect (%#x) though masked", flags)
			}
			// Sizes, on one conn (tiny buffer pool: exhaustion on the
			// buffer-ring paths), then concurrent conns.
			c := dial(t, s)
			for i, n := range []int{1, 100, 2049, 64<<10 + 3, 1 << 20} {
				echoRoundTrip(t, c, pattern(n, byte(i)))
			}
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cc, err := net.Dial("tcp", s.Addr().String())
					if err != nil {
						errs <- err
						return
					}
					defer cc.Close()
					echoRoundTrip(t, cc, pattern(100<<10, byte(i)))
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}
