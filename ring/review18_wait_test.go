//go:build linux

package ring

import (
	"testing"
	"time"
)

// PeekBatch's contract (its doc, and TestPollPeekSeesAsyncCompletion): a loop
// polling with Submit and PeekBatch sees every completion that arrived
// asynchronously. Here many arrive at once: with DEFER_TASKRUN the kernel
// runs at most IO_LOCAL_TW_DEFAULT_MAX (20) deferred items per enter with
// min_complete 0, clears IORING_SQ_TASKRUN before running them, and keeps
// the rest on its retry list without raising the flag again.
func TestPollPeekSeesManyAsyncCompletions(t *testing.T) {
	for _, c := range []struct {
		name    string
		disable uint32
	}{
		{"default", 0},
		{"coop", SetupSingleIssuer | SetupDeferTaskrun},
	} {
		t.Run(c.name, func(t *testing.T) {
			const conns = 48
			r := newRing(t, Config{Entries: 64, Disable: c.disable})
			bufs := make([][]byte, conns)
			peers := make([]int, conns)
			for i := range conns {
				fds := socketpair(t)
				peers[i] = fds[0]
				bufs[i] = heapBuf(16)
				s := sqe(t, r)
				s.PrepRecv(fds[1], bufs[i], 0)
				s.SetUserData(uint64(i + 1))
			}
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			for i := range conns {
				write(t, peers[i], []byte("x"))
			}
			seen := make(map[uint64]int)
			var batch [8]*CQE
			deadline := time.Now().Add(time.Second)
			for len(seen) < conns && time.Now().Before(deadline) {
				if _, err := r.Submit(); err != nil {
					t.Fatal(err)
				}
				for {
					n := r.PeekBatch(batch[:])
					if n == 0 {
						break
					}
					for _, c := range batch[:n] {
						if c.Res != 1 {
							t.Fatalf("cqe %+v", *c)
						}
						seen[c.UserData]++
					}
					r.CQAdvance(uint32(n))
				}
				time.Sleep(time.Millisecond)
			}
			for ud, k := range seen {
				if k != 1 {
					t.Fatalf("ud %d seen %d times", ud, k)
				}
			}
			if len(seen) != conns {
				t.Fatalf("setup %#x: Submit+PeekBatch saw %d of %d completions in 1s (CQReady %d, sq flags %#x)",
					r.SetupFlags(), len(seen), conns, r.CQReady(), sqFlagsLoad(r.kSQFlags))
			}
		})
	}
}

// Without EXT_ARG, a wait for n >= 2 that ends on its n CQEs leaves its
// internal TIMEOUT armed (it counts only CQEs posted after it). When it fires
// during a later wait, that wait ends at the old deadline, long before its
// own d, with no completion at all.
func TestNoExtArgStaleTimeoutEndsLaterWait(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	r.testNoExtArg = true
	// One CQE ready before the wait: SubmitAndWaitTimeout(2, 50ms) then
	// needs one more, which a NOP gives at once; its TIMEOUT wants 2 more.
	sqe(t, r).PrepNop()
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	for r.CQReady() == 0 {
		r.SubmitAndWaitTimeout(1, 10*time.Millisecond)
	}
	s := sqe(t, r)
	s.PrepNop()
	s.SetUserData(2)
	if _, err := r.SubmitAndWaitTimeout(2, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var dst [8]*CQE
	n := r.PeekBatch(dst[:])
	r.CQAdvance(uint32(n))
	// Nothing in flight but the old TIMEOUT. A 1 s wait must last about 1 s.
	start := time.Now()
	if _, err := r.SubmitAndWaitTimeout(1, time.Second); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	got := r.PeekBatch(dst[:])
	r.CQAdvance(uint32(got))
	if el < 900*time.Millisecond {
		t.Fatalf("SubmitAndWaitTimeout(1, 1s) with nothing in flight returned after %v with %d CQEs", el, got)
	}
}

// Buffer ring tail and kernel head are 16-bit: run well past 65536
// publications with buffers recycled out of order, checking every CQE's
// data and that no id is handed out twice while held.
func TestBufRingWrapRecycleOrder(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags uint32
		size  uint32
	}{{"plain", 0, 8}, {"inc", PbufRingInc, 16}} {
		t.Run(c.name, func(t *testing.T) {
			if c.flags != 0 {
				requireCap(t, CapIncrementalBuf)
			}
			r := newRing(t, Config{Entries: 8})
			b, err := r.NewBufRing(3, 4, c.size, c.flags)
			if err != nil {
				t.Fatal(err)
			}
			fds := socketpair(t)
			held := map[uint16]bool{}
			var stack []uint16
			const iters = 70000
			msg := make([]byte, 8)
			var dst [4]*CQE
			deadline := time.Now().Add(60 * time.Second)
			for i := 0; i < iters; i++ {
				if time.Now().After(deadline) {
					t.Fatalf("too slow: %d iterations", i)
				}
				for k := range msg {
					msg[k] = byte(i >> (8 * (k % 4)))
				}
				msg[7] = byte(i * 7)
				write(t, fds[0], msg)
				s := sqe(t, r)
				s.PrepRecvSelect(fds[1], 3, 0)
				s.SetUserData(uint64(i))
				got := 0
				for got == 0 {
					if _, err := r.SubmitAndWaitTimeout(1, time.Second); err != nil {
						t.Fatal(err)
					}
					got = r.PeekBatch(dst[:])
				}
				cq := *dst[0]
				r.CQAdvance(1)
				if cq.Res != 8 || !cq.HasBuffer() {
					t.Fatalf("iter %d: cqe %+v", i, cq)
				}
				id := cq.BufID()
				if held[id] {
					t.Fatalf("iter %d: buffer %d handed out while held", i, id)
				}
				data := b.Data(&cq)
				if string(data) != string(msg) {
					t.Fatalf("iter %d: buffer %d data %x want %x", i, id, data, msg)
				}
				if cq.BufMore() {
					continue // the kernel keeps using it
				}
				held[id] = true
				stack = append(stack, id)
				// Keep up to 2 held; recycle newest first (out of order).
				if len(stack) > 2 || i%3 == 0 {
					for len(stack) > 0 {
						x := stack[len(stack)-1]
						stack = stack[:len(stack)-1]
						delete(held, x)
						if err := b.Recycle(x); err != nil {
							t.Fatal(err)
						}
					}
					b.Publish()
				}
			}
		})
	}
}

// SQ wraparound over many batches, with partial submission (no SUBMIT_ALL:
// the kernel stops after an SQE that fails) and SQEs left in the SQ across
// calls: every SQE completes exactly once.
func TestSQWrapPartialSubmit(t *testing.T) {
	for _, c := range []struct {
		name    string
		disable uint32
	}{{"noarray", SetupSubmitAll}, {"array", SetupSubmitAll | SetupNoSQArray}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, Config{Entries: 4, CQEntries: 8, Disable: c.disable})
			seen := map[uint64]int{}
			ud := uint64(0)
			var dst [8]*CQE
			reapSome := func() {
				for {
					n := r.PeekBatch(dst[:])
					if n == 0 {
						return
					}
					for _, c := range dst[:n] {
						seen[c.UserData]++
					}
					r.CQAdvance(uint32(n))
				}
			}
			for i := 0; i < 3000; i++ {
				k := 1 + i%4
				for j := 0; j < k; j++ {
					s := r.GetSQE()
					if s == nil {
						break
					}
					ud++
					if (i+j)%5 == 0 {
						s.Opcode = 0xfe // invalid: fails at submission
					} else {
						s.PrepNop()
					}
					s.SetUserData(ud)
				}
				if i%3 == 0 {
					r.Submit()
				} else {
					r.SubmitAndWaitTimeout(1, time.Millisecond)
				}
				reapSome()
			}
			deadline := time.Now().Add(2 * time.Second)
			for uint64(len(seen)) < ud && time.Now().Before(deadline) {
				r.SubmitAndWaitTimeout(1, 10*time.Millisecond)
				reapSome()
			}
			for u := uint64(1); u <= ud; u++ {
				if seen[u] != 1 {
					t.Fatalf("ud %d completed %d times (of %d SQEs, %d distinct seen, SQReady %d)", u, seen[u], ud, len(seen), r.SQReady())
				}
			}
		})
	}
}

// Without EXT_ARG, SubmitAndWaitTimeout(n, d) with the SQ full submits the
// caller's SQEs first to make room for its TIMEOUT. When those complete at
// once (n CQEs ready), the call must return at once, not at d.
func TestNoExtArgFullSQCompletesAtOnce(t *testing.T) {
	for _, dis := range []uint32{0, SetupSingleIssuer | SetupDeferTaskrun} {
		r := newRing(t, Config{Entries: 2, Disable: dis})
		r.testNoExtArg = true
		for i := range 2 {
			s := sqe(t, r)
			s.PrepNop()
			s.SetUserData(uint64(i))
		}
		start := time.Now()
		n, err := r.SubmitAndWaitTimeout(2, 2*time.Second)
		el := time.Since(start)
		if n != 2 || err != nil {
			t.Fatalf("SubmitAndWaitTimeout = %d, %v", n, err)
		}
		got := reap(t, r, 2)
		if got[0].UserData != 0 || got[1].UserData != 1 {
			t.Fatalf("got %+v", got)
		}
		if el > time.Second {
			t.Fatalf("setup %#x: SubmitAndWaitTimeout(2, 2s) with both NOPs completed at submission took %v", r.SetupFlags(), el)
		}
	}
}

// Same as TestNoExtArgStaleTimeoutEndsLaterWait, with the caller's SQEs
// submitted in the same enter as the TIMEOUT.
func TestNoExtArgStaleTimeoutSameEnter(t *testing.T) {
	for _, dis := range []uint32{0, SetupSingleIssuer | SetupDeferTaskrun} {
		r := newRing(t, Config{Entries: 8, Disable: dis})
		r.testNoExtArg = true
		for i := range 3 {
			s := sqe(t, r)
			s.PrepNop()
			s.SetUserData(uint64(i + 1))
		}
		if _, err := r.SubmitAndWaitTimeout(2, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		reap(t, r, 3)
		start := time.Now()
		if _, err := r.SubmitAndWaitTimeout(1, time.Second); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 900*time.Millisecond {
			t.Fatalf("setup %#x: SubmitAndWaitTimeout(1, 1s) with nothing in flight returned after %v", r.SetupFlags(), el)
		}
		quiet(t, r)
	}
}
