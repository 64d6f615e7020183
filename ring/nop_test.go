//go:build linux

package ring

import "testing"

func TestNopSubmitAndReap(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	for i := range 8 {
		s := sqe(t, r)
		s.PrepNop()
		s.SetUserData(uint64(100 + i))
	}
	if got := r.SQReady(); got != 8 {
		t.Fatalf("SQReady = %d, want 8", got)
	}
	if r.GetSQE() != nil {
		t.Fatal("GetSQE on a full SQ returned an SQE")
	}
	if n, err := r.Submit(); err != nil || n != 8 {
		t.Fatalf("Submit = %d, %v; want 8", n, err)
	}
	if r.SQSpace() != 8 {
		t.Fatalf("SQSpace = %d after submit", r.SQSpace())
	}
	cqes := reap(t, r, 8)
	for i, c := range cqes {
		if c.UserData != uint64(100+i) || c.Res != 0 {
			t.Fatalf("CQE %d = %+v", i, c)
		}
	}
	if r.CQReady() != 0 {
		t.Fatalf("CQReady = %d after reaping all", r.CQReady())
	}
}
