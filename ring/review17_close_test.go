//go:build linux

package ring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Suspicion 3 (refutation attempt): without EXT_ARG, waits return by d,
// internal timeout CQEs never reach the caller, and Close with internal
// timeouts still armed returns promptly.
func TestNoExtArgWaitsAndClose(t *testing.T) {
	for _, dis := range []uint32{0, SetupSingleIssuer | SetupDeferTaskrun} {
		r := newRing(t, Config{Entries: 4, DisableExtArg: true, Disable: dis})
		if r.UsesExtArg() {
			t.Fatal("UsesExtArg with DisableExtArg")
		}
		var dst [8]*CQE
		for i := 0; i < 20; i++ {
			start := time.Now()
			if _, err := r.SubmitAndWaitTimeout(3, 5*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el > time.Second {
				t.Fatalf("idle wait took %v", el)
			}
			if n := r.PeekBatch(dst[:]); n != 0 {
				t.Fatalf("PeekBatch returned %d CQEs on an idle ring: %+v", n, *dst[0])
			}
		}
		// A long internal timeout stays armed after a NOP satisfies the wait.
		for i := 0; i < 3; i++ {
			s := sqe(t, r)
			s.PrepNop()
			s.SetUserData(uint64(10 + i))
			if _, err := r.SubmitAndWaitTimeout(1, time.Hour); err != nil {
				t.Fatal(err)
			}
			got := 0
			for got == 0 {
				n := r.PeekBatch(dst[:])
				for _, c := range dst[:n] {
					if c.UserData == UserDataInternal {
						t.Fatal("internal CQE leaked")
					}
				}
				got += n
				r.CQAdvance(uint32(n))
				if n == 0 {
					r.SubmitAndWaitTimeout(1, 10*time.Millisecond)
				}
			}
		}
		start := time.Now()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("Close with internal timeouts armed took %v", el)
		}
	}
}

// Suspicion 4 (refutation attempt): a read punted to io-wq on a pipe with
// no writer does not keep Close waiting, and nothing is written into the
// caller's buffer after Close.
func TestCloseBlockedPipeRead(t *testing.T) {
	for _, dis := range []uint32{0, SetupSingleIssuer | SetupDeferTaskrun} {
		r := newRing(t, Config{Entries: 4, Disable: dis})
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		buf := heapBuf(64)
		s := sqe(t, r)
		s.PrepRead(p[0], buf, ^uint64(0))
		s.SetFlags(SQEAsync)
		s.SetUserData(1)
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // let the worker pick it up
		start := time.Now()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		unix.Write(p[1], []byte("after close"))
		time.Sleep(50 * time.Millisecond)
		var rest [64]byte
		unix.SetNonblock(p[0], true)
		n, _ := unix.Read(p[0], rest[:])
		unix.Close(p[0])
		unix.Close(p[1])
		t.Logf("disable %#x: Close took %v; buf %q; pipe still held %d bytes", dis, el, buf[:11], n)
		if buf[0] != 0 {
			t.Fatalf("kernel wrote into the caller's buffer after Close: %q", buf[:11])
		}
		if el > time.Second {
			t.Fatalf("Close took %v", el)
		}
	}
}
