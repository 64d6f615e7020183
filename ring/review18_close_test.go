//go:build linux

package ring

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A ring without SINGLE_ISSUER may be used by a goroutine that is not locked
// to its thread (the package doc recommends Disable = SINGLE_ISSUER|
// DEFER_TASKRUN for that case), so the thread that closes it may not be the
// one that submitted. Close must still be quick when only an armed socket
// recv is in flight (nothing runs in io-wq).
func TestCloseFromOtherThreadArmedRecvQuick(t *testing.T) {
	for _, c := range []struct {
		name    string
		disable uint32
	}{{"coop", SetupSingleIssuer | SetupDeferTaskrun}, {"plain", SetupSingleIssuer | SetupDeferTaskrun | SetupCoopTaskrun | SetupTaskrunFlag}} {
		t.Run(c.name, func(t *testing.T) {
			fds := socketpair(t)
			buf := heapBuf(64)
			type res struct {
				r   *Ring
				err error
			}
			made := make(chan res)
			hold := make(chan struct{})
			done := make(chan struct{})
			go func() { // thread A: creates the ring and submits, then sleeps locked
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				defer close(done)
				r, err := New(Config{Entries: 8, Disable: c.disable})
				if err == nil {
					s := r.GetSQE()
					s.PrepRecv(fds[1], buf, 0)
					s.SetUserData(1)
					_, err = r.Submit()
				}
				made <- res{r, err}
				<-hold
			}()
			m := <-made
			defer func() { close(hold); <-done }()
			if m.err != nil {
				t.Fatal(m.err)
			}
			time.Sleep(20 * time.Millisecond)
			runtime.LockOSThread() // thread B
			defer runtime.UnlockOSThread()
			start := time.Now()
			err := m.r.Close()
			el := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			unix.Write(fds[0], []byte("after close"))
			time.Sleep(20 * time.Millisecond)
			if buf[0] != 0 {
				t.Fatalf("kernel wrote into the buffer after Close: %q", buf[:11])
			}
			if el > time.Second {
				t.Fatalf("Close from another thread with one armed recv took %v", el)
			}
		})
	}
}

// Close with a multishot recv streaming into a buffer ring: once Close
// returned, memory mapped at the old slab's address must never be written.
func TestCloseStreamingMultishotSlabReuse(t *testing.T) {
	requireCap(t, CapMultishotRecv|CapBufRing)
	for _, c := range []struct {
		name    string
		disable uint32
	}{{"default", 0}, {"coop", SetupSingleIssuer | SetupDeferTaskrun}, {"plain", SetupSingleIssuer | SetupDeferTaskrun | SetupCoopTaskrun | SetupTaskrunFlag}} {
		t.Run(c.name, func(t *testing.T) {
			for attempt := 0; attempt < 5; attempt++ {
				r := newRing(t, Config{Entries: 8, Disable: c.disable})
				const count, size = 16, 4096
				b, err := r.NewBufRing(9, count, size, 0)
				if err != nil {
					t.Fatal(err)
				}
				cl, sv := tcpPair(t)
				s := sqe(t, r)
				s.PrepRecvMultishot(sv, 9, 0)
				s.SetUserData(1)
				if _, err := r.Submit(); err != nil {
					t.Fatal(err)
				}
				stop := make(chan struct{})
				wdone := make(chan struct{})
				go func() {
					defer close(wdone)
					chunk := make([]byte, 1500)
					for i := range chunk {
						chunk[i] = 0x5a
					}
					for {
						select {
						case <-stop:
							return
						default:
						}
						unix.SetNonblock(cl, true)
						unix.Write(cl, chunk)
						time.Sleep(10 * time.Microsecond)
					}
				}()
				// Reap and recycle for a while so the recv keeps going.
				var dst [16]*CQE
				until := time.Now().Add(20 * time.Millisecond)
				for time.Now().Before(until) {
					r.SubmitAndWaitTimeout(1, time.Millisecond)
					n := r.PeekBatch(dst[:])
					for _, c := range dst[:n] {
						if c.HasBuffer() {
							b.Recycle(c.BufID())
						}
					}
					r.CQAdvance(uint32(n))
					b.Publish()
				}
				addr := unsafe.Pointer(unsafe.SliceData(b.Buf(0)))
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				// Map fresh memory at the old slab's address.
				p, err := unix.MmapPtr(-1, 0, addr, count*size, unix.PROT_READ|unix.PROT_WRITE,
					unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE)
				if err != nil || p != addr {
					close(stop)
					<-wdone
					t.Skipf("could not map at the old slab address: %v", err)
				}
				mem := unsafe.Slice((*byte)(p), count*size)
				for i := range mem {
					mem[i] = 0xAA
				}
				time.Sleep(30 * time.Millisecond)
				close(stop)
				<-wdone
				for i, v := range mem {
					if v != 0xAA {
						t.Fatalf("attempt %d: byte %d of memory mapped at the old slab written after Close: %#x", attempt, i, v)
					}
				}
				unix.MunmapPtr(p, count*size)
			}
		})
	}
}

func TestWaitMinWithCQEAlreadyReady(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	if !r.UsesMinWait() {
		t.Skip("no min wait")
	}
	sqe(t, r).PrepNop()
	r.SubmitAndWaitTimeout(1, time.Second)
	if r.CQReady() != 1 {
		t.Fatalf("CQReady %d", r.CQReady())
	}
	start := time.Now()
	done := make(chan struct{})
	fds := socketpair(t)
	rescue := time.AfterFunc(3*time.Second, func() { unix.Write(fds[0], []byte{1}); close(done) })
	defer rescue.Stop()
	buf := heapBuf(4)
	s := sqe(t, r)
	s.PrepRecv(fds[1], buf, 0)
	s.SetUserData(9)
	if _, err := r.SubmitAndWaitMin(32, 5*time.Millisecond, -1); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("SubmitAndWaitMin(32, 5ms, -1) with a CQE ready waited %v", el)
	}
}

// A wait for more CQEs than are ready while the CQ is full and the rest sit
// on the overflow list can never be satisfied until the caller reaps.
func TestWaitWithCQFullAndOverflow(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"extarg", Config{Entries: 4, CQEntries: 4}}, {"noextarg", Config{Entries: 4, CQEntries: 4, DisableExtArg: true}}, {"min", Config{Entries: 4, CQEntries: 4}}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, c.cfg)
			for b := 0; b < 2; b++ {
				for i := 0; i < 4; i++ {
					s := sqe(t, r)
					s.PrepNop()
					s.SetUserData(uint64(b*4 + i + 1))
				}
				if _, err := r.Submit(); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("CQReady %d overflowed %v", r.CQReady(), r.CQOverflowed())
			start := time.Now()
			var err error
			if c.name == "min" {
				_, err = r.SubmitAndWaitMin(6, time.Millisecond, 2*time.Second)
			} else {
				_, err = r.SubmitAndWaitTimeout(6, 2*time.Second)
			}
			el := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			got := reap(t, r, 8)
			for i, c := range got {
				if c.UserData != uint64(i+1) {
					t.Fatalf("cqe %d: %+v", i, c)
				}
			}
			if el > time.Second {
				t.Fatalf("wait for 6 with 4 in a full CQ and 4 overflowed took %v", el)
			}
		})
	}
}
