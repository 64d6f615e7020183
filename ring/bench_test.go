//go:build linux

package ring

import (
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// nopRound submits batch NOPs and reaps them: the cost of the hot path
// (GetSQE, prep, one io_uring_enter, PeekBatch, CQAdvance) per operation.
func nopRound(b *testing.B, r *Ring, dst []*CQE, batch int) {
	for i := range batch {
		s := r.GetSQE()
		s.PrepNop()
		s.SetUserData(uint64(i))
	}
	if _, err := r.Submit(); err != nil {
		b.Fatal(err)
	}
	for reaped := 0; reaped < batch; {
		n := r.PeekBatch(dst)
		if n == 0 { // NOPs complete inside Submit; this is only a safety net
			if _, err := r.SubmitAndWait(uint32(batch - reaped)); err != nil {
				b.Fatal(err)
			}
			continue
		}
		for _, c := range dst[:n] {
			if c.Res != 0 {
				b.Fatalf("NOP res %d", c.Res)
			}
		}
		r.CQAdvance(uint32(n))
		reaped += n
	}
}

// threadCPU is the calling thread's CPU time in ns (the benchmark goroutine
// is locked to it): steadier than wall time on a busy machine.
func threadCPU(b *testing.B) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return ts.Nano()
}

// BenchmarkNop reports ns/nop (wall) and cpu-ns/nop (thread CPU) per NOP.
func BenchmarkNop(b *testing.B) {
	for _, batch := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r, err := New(Config{Entries: 128})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			dst := make([]*CQE, 128)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := threadCPU(b)
			for range b.N {
				nopRound(b, r, dst, batch)
			}
			cpu := threadCPU(b) - cpu0
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/nop")
			b.ReportMetric(float64(cpu)/float64(b.N*batch), "cpu-ns/nop")
		})
	}
}

// One 64-byte send and the matching recv over a socketpair, submitted
// together and reaped together.
func BenchmarkRecvSendRoundTrip(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(Config{Entries: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	fds := socketpair(b)
	out, in := heapBuf(64), heapBuf(64)
	dst := make([]*CQE, 4)
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s := r.GetSQE()
		s.PrepSend(fds[0], out, 0)
		s.SetUserData(1)
		s = r.GetSQE()
		s.PrepRecv(fds[1], in, 0)
		s.SetUserData(2)
		if _, err := r.SubmitAndWait(2); err != nil {
			b.Fatal(err)
		}
		for reaped := 0; reaped < 2; {
			n := r.PeekBatch(dst)
			if n == 0 {
				if _, err := r.SubmitAndWait(1); err != nil {
					b.Fatal(err)
				}
				continue
			}
			for _, c := range dst[:n] {
				if c.Res != 64 {
					b.Fatalf("CQE %+v", *c)
				}
			}
			r.CQAdvance(uint32(n))
			reaped += n
		}
	}
	runtime.KeepAlive(out)
	runtime.KeepAlive(in)
}
