//go:build linux

package ring

import "testing"

// PrepMsgRing posts a CQE on another ring (the way one loop wakes another).
func TestMsgRing(t *testing.T) {
	requireCap(t, CapMsgRing)
	a := newRing(t, Config{Entries: 2})
	b := newRing(t, Config{Entries: 2})
	q := sqe(t, a)
	q.PrepMsgRing(b.Fd(), 77, 0xfeed, 0)
	q.SetUserData(1)
	wantRes(t, "msg_ring sender", reap(t, a, 1)[0], 0)
	c := reap(t, b, 1)[0]
	if c.UserData != 0xfeed || c.Res != 77 {
		t.Fatalf("target CQE %+v", c)
	}
	// With SQECQESkipSuccess the sender gets no CQE, the target does.
	q = sqe(t, a)
	q.PrepMsgRing(b.Fd(), 78, 0xbeef, 0)
	q.SetFlags(SQECQESkipSuccess)
	q.SetUserData(2)
	if _, err := a.Submit(); err != nil {
		t.Fatal(err)
	}
	if c := reap(t, b, 1)[0]; c.UserData != 0xbeef || c.Res != 78 {
		t.Fatalf("target CQE %+v", c)
	}
	quiet(t, a)
}
