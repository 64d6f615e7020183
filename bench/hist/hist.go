// Package hist is a small latency histogram with logarithmic buckets, in the
// manner of HdrHistogram: every power of two is split into a fixed number of
// linear sub-buckets, so the relative error of any recorded value is bounded
// (below 1/64 here) whatever its magnitude, and recording is one atomic add.
package hist

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sets the resolution: values below 1<<subBits are exact; above, every
// power of two [2^k, 2^(k+1)) is split into 1<<(subBits-1) equal buckets, so a
// bucket's width is at most 1/64 of its lower bound.
const subBits = 7

// maxBits caps recorded values at 2^maxBits-1 ns (about 18 minutes); larger
// values are clamped to the top bucket.
const maxBits = 40

const half = 1 << (subBits - 1)

// numBuckets is the index of 2^maxBits-1 plus one.
var numBuckets = index(1<<maxBits-1) + 1

// Histogram counts durations in nanoseconds. The zero value is not usable; call
// New. Record is safe from any goroutine; the read methods (Quantile, Count,
// Max, Min, Mean, Merge) must not race with Record if exact figures are needed:
// read after the recorders have stopped.
type Histogram struct {
	counts []atomic.Uint64 // counts[index(v)] is the number of values in that bucket
	total  atomic.Uint64   // number of recorded values
	sum    atomic.Uint64   // sum of recorded values (ns), for Mean
	max    atomic.Uint64   // largest value recorded (exact)
	min    atomic.Uint64   // smallest value recorded plus one (0 = none yet)
}

// New returns an empty histogram.
func New() *Histogram {
	return &Histogram{counts: make([]atomic.Uint64, numBuckets)}
}

// index maps a value to its bucket.
func index(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	n := bits.Len64(v)           // v in [2^(n-1), 2^n), n > subBits
	shift := n - subBits         // >= 1
	top := v >> uint(shift)      // in [half, 2*half)
	return shift*half + int(top) // contiguous with the exact range below
}

// lowerBound returns the smallest value that falls in bucket i.
func lowerBound(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	shift := i/half - 1
	top := uint64(i - shift*half)
	return top << uint(shift)
}

// width returns the number of distinct values in bucket i.
func width(i int) uint64 {
	if i < 1<<subBits {
		return 1
	}
	return 1 << uint(i/half-1)
}

// Record adds one duration; negative durations count as zero. Safe from any goroutine.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	if v >= 1<<maxBits {
		v = 1<<maxBits - 1
	}
	h.counts[index(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if (m != 0 && v+1 >= m) || h.min.CompareAndSwap(m, v+1) {
			break
		}
	}
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Min returns the smallest recorded value, exactly (0 when empty).
func (h *Histogram) Min() time.Duration {
	m := h.min.Load()
	if m == 0 {
		return 0
	}
	return time.Duration(m - 1)
}

// Mean returns the arithmetic mean of the recorded values (0 when empty).
func (h *Histogram) Mean() time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the value at quantile q in [0, 1]: the midpoint of the
// bucket holding the ceil(q*Count())-th smallest value, clamped to [Min, Max].
// It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	if q <= 0 {
		return h.Min()
	}
	if q >= 1 {
		return h.Max()
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := lowerBound(i) + (width(i)-1)/2
			if mx := uint64(h.Max()); v > mx {
				v = mx
			}
			if mn := uint64(h.Min()); v < mn {
				v = mn
			}
			return time.Duration(v)
		}
	}
	return h.Max()
}

// Merge adds every value of o into h. o must not be recorded into meanwhile.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	if o.total.Load() == 0 {
		return
	}
	h.total.Add(o.total.Load())
	h.sum.Add(o.sum.Load())
	if v := o.max.Load(); v > h.max.Load() {
		h.max.Store(v)
	}
	if m := o.min.Load(); m != 0 && (h.min.Load() == 0 || m < h.min.Load()) {
		h.min.Store(m)
	}
}

// Reset empties the histogram. It must not race with Record.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.total.Store(0)
	h.sum.Store(0)
	h.max.Store(0)
	h.min.Store(0)
}

// Summary is the fixed set of figures the bench reports for a histogram.
type Summary struct {
	Count uint64        `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Summarize returns the histogram's Summary.
func (h *Histogram) Summarize() Summary {
	return Summary{
		Count: h.Count(), Min: h.Min(), Mean: h.Mean(),
		P50: h.Quantile(0.50), P90: h.Quantile(0.90), P99: h.Quantile(0.99),
		P999: h.Quantile(0.999), Max: h.Max(),
	}
}
