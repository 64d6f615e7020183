//go:build linux

package ring

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Ring.Close on a SINGLE_ISSUER ring from a thread other than its owner:
// the sync cancel is refused (EEXIST) and the error ignored, so Close
// returns nil while an io-wq worker keeps writing into the caller's buffer.
func TestCloseFromOtherThreadRefused(t *testing.T) {
	const size = 256 << 20
	f, err := os.Create(filepath.Join(t.TempDir(), "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	buf := heapBuf(size)
	for attempt := 0; attempt < 12; attempt++ {
		r := newRing(t, Config{Entries: 8})
		if r.SetupFlags()&SetupSingleIssuer == 0 {
			t.Skip("no SINGLE_ISSUER")
		}
		fill(buf, 0xAA)
		s := sqe(t, r)
		s.PrepRead(int(f.Fd()), buf, 0)
		s.SetFlags(SQEAsync)
		s.SetUserData(1)
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(2 * time.Second); buf[0] != 0 && time.Now().Before(deadline); {
		}
		errc := make(chan error, 1)
		lastc := make(chan byte, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			err := r.Close()
			lastc <- buf[size-1]
			errc <- err
		}()
		last, cerr := <-lastc, <-errc
		if cerr != nil {
			// Refused: the ring is intact; its owner closes it.
			if err := r.Close(); err != nil {
				t.Fatalf("Close on the owner thread after %v: %v", cerr, err)
			}
			last = buf[size-1]
		}
		time.Sleep(200 * time.Millisecond)
		if last == 0xAA && buf[size-1] != 0xAA {
			t.Fatalf("attempt %d: Close from another thread returned %v, then the kernel wrote into the caller's buffer", attempt, cerr)
		}
		t.Logf("attempt %d: Close returned %v (race not hit)", attempt, cerr)
	}
}
