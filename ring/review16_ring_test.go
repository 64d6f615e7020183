//go:build linux

package ring

import (
	"testing"
	"time"
)

// PeekBatch's doc: "When the CQ is empty but the kernel holds completions
// back (overflow, task work), it flushes them first". A loop that polls with
// Submit and PeekBatch must see a completion that arrived asynchronously, on
// every setup tier New may pick.
func TestPollPeekSeesAsyncCompletion(t *testing.T) {
	for _, c := range []struct {
		name    string
		disable uint32
	}{
		{"default", 0},
		{"coop", SetupSingleIssuer | SetupDeferTaskrun},
		{"plain", SetupSingleIssuer | SetupDeferTaskrun | SetupCoopTaskrun | SetupTaskrunFlag},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, Config{Entries: 8, Disable: c.disable})
			fds := socketpair(t)
			buf := heapBuf(16)
			s := sqe(t, r)
			s.PrepRecv(fds[1], buf, 0)
			s.SetUserData(1)
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			write(t, fds[0], []byte("hello"))
			var batch [4]*CQE
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				if _, err := r.Submit(); err != nil {
					t.Fatal(err)
				}
				if n := r.PeekBatch(batch[:]); n > 0 {
					if batch[0].UserData != 1 || batch[0].Res != 5 {
						t.Fatalf("cqe %+v", *batch[0])
					}
					r.CQAdvance(uint32(n))
					return
				}
				time.Sleep(time.Millisecond)
			}
			t.Fatalf("setup %#x: recv completion never seen by Submit+PeekBatch in 1s (CQReady %d, sq flags %#x)",
				r.SetupFlags(), r.CQReady(), sqFlagsLoad(r.kSQFlags))
		})
	}
}
