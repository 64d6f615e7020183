//go:build linux

package ring

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Without EXT_ARG, SubmitAndWaitTimeout(n, d) with n larger than the CQ used to
// wait for ever once the CQ was full: CQReady never reaches n, and the internal
// timeout's own CQE waits on the kernel's overflow list, where the ring cannot
// see it. It now waits for a full CQ at most.
func TestNoExtArgWaitMoreThanCQ(t *testing.T) {
	const cq = 8
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the ring's thread (SINGLE_ISSUER); never unlocked: on failure it spins until the binary exits
		r, err := New(Config{Entries: 4, CQEntries: cq, DisableExtArg: true})
		if err != nil {
			done <- err
			return
		}
		defer r.Close()
		if r.CQEntries() != cq || r.UsesExtArg() {
			done <- fmt.Errorf("CQ %d entries, EXT_ARG %v", r.CQEntries(), r.UsesExtArg())
			return
		}
		for i := uint32(0); i < cq; i++ { // fill the CQ with NOP CQEs, not reaped
			s := r.GetSQE()
			if s == nil {
				if _, err := r.Submit(); err != nil {
					done <- err
					return
				}
				s = r.GetSQE()
			}
			s.prepRW(OpNop, -1, 0, 0, 0)
			s.SetUserData(uint64(i + 1))
		}
		if _, err := r.Submit(); err != nil {
			done <- err
			return
		}
		_, err = r.SubmitAndWaitTimeout(2*cq, 20*time.Millisecond)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("SubmitAndWaitTimeout(2*CQ, 20ms) on a full %d-entry CQ has not returned after 3s", cq)
	}
}

// cancelAllSync (and so Ring.Close, before it unmaps buffer rings) waits for a
// request an io-wq worker is running: with CANCEL_ALL alone the kernel only
// asks the worker to stop, and a worker copying a regular file into its
// provided buffer went on writing into the slab after the cancel returned.
func TestCancelAllSyncWaitsForIOWQ(t *testing.T) {
	requireCap(t, CapBufRing)
	const size = 128 << 20
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xAB}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := newRing(t, Config{Entries: 8})
	br, err := r.NewBufRing(0, 1, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	slab := br.Buf(0)
	s := sqe(t, r)
	s.prepRW(OpRead, int32(f.Fd()), 0, size, 0)
	s.Flags |= SQEBufferSelect | SQEAsync // an io-wq worker reads into the provided buffer
	s.BufIndex = 0
	s.SetUserData(1)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20000 && slab[0] != 0xAB; i++ {
		time.Sleep(10 * time.Microsecond)
	}
	if slab[0] != 0xAB {
		t.Fatal("the io-wq worker did not start reading within 200ms")
	}
	r.cancelAllSync()
	before := bytes.Count(slab, []byte{0xAB})
	time.Sleep(100 * time.Millisecond)
	after := bytes.Count(slab, []byte{0xAB})
	if after != before {
		t.Errorf("the kernel wrote %d more bytes into the buffer ring after cancelAllSync returned (%d then): Close would unmap the slab under it", after-before, before)
	}
	reapN(r, 1, 5*time.Second)
}
