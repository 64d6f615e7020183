package ringbench

import (
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// rounder is what both libraries' runners provide.
type rounder interface {
	Round(batch int) (uint64, error)
	Close() error
}

var libs = []struct {
	name string
	open func() (rounder, error)
}{
	{"ringo", func() (rounder, error) { return NewRingo() }},
	{"giouring", func() (rounder, error) { return NewGiouring() }},
}

// A few NOP rounds through both libraries: every NOP completes, once.
func TestNopBoth(t *testing.T) {
	for _, lib := range libs {
		t.Run(lib.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r, err := lib.open()
			if err != nil {
				t.Skipf("io_uring with SINGLE_ISSUER|DEFER_TASKRUN unavailable (kernel < 6.1?): %v", err)
			}
			defer r.Close()
			for _, batch := range []int{1, 8, 32, 128, 5} {
				for range 10 {
					sum, err := r.Round(batch)
					if err != nil {
						t.Fatal(err)
					}
					if want := uint64(batch * (batch - 1) / 2); sum != want {
						t.Fatalf("batch %d: user data sum %d, want %d", batch, sum, want)
					}
				}
			}
		})
	}
}

// threadCPU is the CPU time (user+system) of the calling OS thread, in ns.
// The benchmarks lock their goroutine to its thread, so this is the time the
// loop itself ran, without the time other processes on a shared machine
// took from it: a steadier figure than wall time when the machine is busy.
func threadCPU(b *testing.B) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return ts.Nano()
}

// BenchmarkNop pairs BenchmarkNop/ringo/batch=N with
// BenchmarkNop/giouring/batch=N; ns/nop is the wall time per operation,
// cpu-ns/nop the thread's CPU time per operation. For each batch size
// ringo runs, then giouring (each -count times): compare the pairs of one
// run, and prefer cpu-ns/nop on a busy machine.
func BenchmarkNop(b *testing.B) {
	for _, batch := range []int{1, 8, 32, 128} {
		for _, lib := range libs {
			b.Run(fmt.Sprintf("%s/batch=%d", lib.name, batch), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				r, err := lib.open()
				if err != nil {
					b.Skipf("io_uring with SINGLE_ISSUER|DEFER_TASKRUN unavailable: %v", err)
				}
				defer r.Close()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := threadCPU(b)
				for range b.N {
					if _, err := r.Round(batch); err != nil {
						b.Fatal(err)
					}
				}
				cpu := threadCPU(b) - cpu0
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/nop")
				b.ReportMetric(float64(cpu)/float64(b.N*batch), "cpu-ns/nop")
			})
		}
	}
}
