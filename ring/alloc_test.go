//go:build linux

package ring

import (
	"testing"
	"time"
)

// The hot path allocates nothing: GetSQE, Prep, Submit, PeekBatch,
// CQAdvance, SubmitAndWaitTimeout, Errno.
func TestHotPathAllocs(t *testing.T) {
	r := newRing(t, Config{Entries: 32})
	var dst [32]*CQE
	var errSink error
	round := func() {
		for i := range 8 {
			s := r.GetSQE()
			s.PrepNop()
			s.SetUserData(uint64(i))
		}
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.SubmitAndWaitTimeout(8, time.Second); err != nil {
			t.Fatal(err)
		}
		n := r.PeekBatch(dst[:])
		for _, c := range dst[:n] {
			errSink = Errno(c.Res - 11)
		}
		r.CQAdvance(uint32(n))
	}
	round()
	if a := testing.AllocsPerRun(200, round); a != 0 {
		t.Fatalf("%v allocations per submit+reap round", a)
	}
	_ = errSink
	r.testNoExtArg = true
	if a := testing.AllocsPerRun(50, round); a != 0 {
		t.Fatalf("%v allocations per round with the internal timeout", a)
	}
}
