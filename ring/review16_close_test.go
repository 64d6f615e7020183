//go:build linux

package ring

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Close's doc: "Operations still in flight are cancelled by the kernel", and
// the package doc makes the caller keep memory alive "until the operation's
// last CQE". After Close no CQE can come, so once Close returned the kernel
// must no longer touch the caller's buffer (the GC may give that memory to
// someone else). A READ of a regular file running in an io-wq worker went
// on writing into it after Close returned.
func TestCloseStopsKernelUseOfCallerBuffer(t *testing.T) {
	const size = 256 << 20
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil { // a hole: reads as zeros, no disk I/O
		t.Fatal(err)
	}
	buf := heapBuf(size)
	for _, c := range []struct {
		name    string
		disable uint32
	}{{"default", 0}, {"coop", SetupSingleIssuer | SetupDeferTaskrun}} {
		t.Run("read/"+c.name, func(t *testing.T) {
			for attempt := 0; attempt < 3; attempt++ {
				r := newRing(t, Config{Entries: 8, Disable: c.disable})
				fill(buf, 0xAA)
				s := sqe(t, r)
				s.PrepRead(int(f.Fd()), buf, 0)
				s.SetFlags(SQEAsync) // an io-wq worker copies into buf
				s.SetUserData(1)
				if _, err := r.Submit(); err != nil {
					t.Fatal(err)
				}
				for deadline := time.Now().Add(2 * time.Second); buf[0] != 0 && time.Now().Before(deadline); {
				}
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				last := buf[size-1] // whatever is not written by now must never be
				time.Sleep(200 * time.Millisecond)
				if last == 0xAA && buf[size-1] != 0xAA {
					t.Fatalf("attempt %d: the kernel wrote into the caller's buffer after Close returned", attempt)
				}
			}
		})
	}
}

// fill sets every byte of b to v (copy doubling: cheap under -race).
func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}
