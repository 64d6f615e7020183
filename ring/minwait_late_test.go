//go:build linux

package ring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// After minWait passed with no CQE, the first ordinary CQE ends the wait
// (not only a TIMEOUT's, which wakes any wait).
func TestSubmitAndWaitMinFirstCQEAfterMin(t *testing.T) {
	requireCap(t, CapMinWait|CapExtArg)
	for _, c := range []struct {
		name    string
		disable uint32
		async   bool
	}{
		{"defer", 0, false}, {"defer async", 0, true},
		{"coop", SetupSingleIssuer | SetupDeferTaskrun, false}, {"coop async", SetupSingleIssuer | SetupDeferTaskrun, true},
		{"plain", SetupSingleIssuer | SetupDeferTaskrun | SetupCoopTaskrun | SetupTaskrunFlag, false},
		{"plain async", SetupSingleIssuer | SetupDeferTaskrun | SetupCoopTaskrun | SetupTaskrunFlag, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, Config{Entries: 8, Disable: c.disable})
			var p [2]int
			if err := unix.Pipe(p[:]); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			buf := heapBuf(8)
			s := sqe(t, r)
			s.PrepRead(p[0], buf, ^uint64(0))
			s.SetUserData(7)
			if c.async {
				s.SetFlags(SQEAsync)
			}
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			go func() {
				time.Sleep(100 * time.Millisecond)
				unix.Write(p[1], []byte("x"))
			}()
			t0 := time.Now()
			if _, err := r.SubmitAndWaitMin(4, 10*time.Millisecond, 3*time.Second); err != nil {
				t.Fatal(err)
			}
			d := time.Since(t0)
			t.Logf("flags %#x: returned after %v with %d ready", r.SetupFlags(), d, r.CQReady())
			if d > time.Second || r.CQReady() != 1 {
				t.Errorf("CQE at 100ms after minWait 10ms: wait took %v, %d ready", d, r.CQReady())
			}
			reap(t, r, int(r.CQReady()))
		})
	}
}
