package hist

import (
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestIndexBoundsRoundTrip(t *testing.T) {
	// Every value lies inside the bucket it is indexed to, buckets are
	// contiguous, and a bucket's width is at most 1/64 of its lower bound.
	prev := -1
	for v := uint64(0); v < 1<<20; v++ {
		i := index(v)
		if i != prev && i != prev+1 {
			t.Fatalf("index(%d)=%d after %d: not contiguous", v, i, prev)
		}
		prev = i
		lo, w := lowerBound(i), width(i)
		if v < lo || v >= lo+w {
			t.Fatalf("v=%d in bucket %d [%d,%d)", v, i, lo, lo+w)
		}
		if lo >= 128 && w*64 > lo {
			t.Fatalf("bucket %d too wide: %d at %d", i, w, lo)
		}
	}
	if got := index(1<<maxBits - 1); got != numBuckets-1 {
		t.Fatalf("top index %d, want %d", got, numBuckets-1)
	}
}

func TestQuantilesAgainstSorted(t *testing.T) {
	h := New()
	r := rand.New(rand.NewSource(1))
	vals := make([]time.Duration, 100000)
	for i := range vals {
		// log-uniform between 1µs and 100ms
		vals[i] = time.Duration(1000*(1<<uint(r.Intn(17)))) + time.Duration(r.Intn(1000))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if diff := float64(got-want) / float64(want); diff > 0.02 || diff < -0.02 {
			t.Errorf("q%.3f: got %v want %v (%.2f%%)", q, got, want, diff*100)
		}
	}
	if h.Count() != uint64(len(vals)) || h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Fatalf("count/max/min: %d %v %v", h.Count(), h.Max(), h.Min())
	}
}

func TestEmptyAndExact(t *testing.T) {
	h := New()
	if h.Quantile(0.5) != 0 || h.Count() != 0 || h.Mean() != 0 || h.Min() != 0 {
		t.Fatal("empty histogram not zero")
	}
	h.Record(-5) // clamps to 0
	h.Record(100)
	h.Record(100)
	if h.Min() != 0 || h.Max() != 100 || h.Quantile(0.5) != 100 || h.Quantile(0.34) != 100 || h.Quantile(0.33) != 0 {
		t.Fatalf("min %v max %v p50 %v", h.Min(), h.Max(), h.Quantile(0.5))
	}
	h.Record(time.Hour) // clamped to the top bucket
	if h.Max() != time.Duration(1<<maxBits-1) {
		t.Fatalf("max %v not clamped", h.Max())
	}
}

func TestConcurrentRecordAndMerge(t *testing.T) {
	a, b := New(), New()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 1000; i++ {
				a.Record(time.Duration(i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	b.Record(5 * time.Second)
	b.Merge(a)
	if b.Count() != 8001 || b.Max() != 5*time.Second || b.Min() != time.Microsecond {
		t.Fatalf("merged count %d max %v min %v", b.Count(), b.Max(), b.Min())
	}
	p50 := b.Quantile(0.5)
	if p50 < 490*time.Microsecond || p50 > 510*time.Microsecond {
		t.Fatalf("p50 %v", p50)
	}
	b.Reset()
	if b.Count() != 0 || b.Max() != 0 {
		t.Fatal("reset")
	}
}
