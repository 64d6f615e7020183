//go:build linux

package ring

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func armMultishot(t *testing.T, r *Ring, fd int, group uint16, ud uint64) {
	t.Helper()
	q := sqe(t, r)
	q.PrepRecvMultishot(fd, group, 0)
	q.SetUserData(ud)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
}

// A multishot recv into a buffer ring of two 16-byte buffers, with 40 bytes
// queued: two CQEs with F_MORE, then -ENOBUFS without F_MORE (the request is
// over). After recycling and re-arming, the remaining 8 bytes arrive: no
// byte is lost.
func TestRecvMultishotENOBUFS(t *testing.T) {
	requireCap(t, CapMultishotRecv)
	r := newRing(t, Config{Entries: 4})
	b, err := r.NewBufRing(3, 2, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	sent := make([]byte, 40)
	for i := range sent {
		sent[i] = byte('a' + i%26)
	}
	write(t, fds[0], sent)
	armMultishot(t, r, fds[1], 3, 1)
	got := reap(t, r, 3)
	var recvd []byte
	for i, c := range got[:2] {
		if c.Res != 16 || !c.HasBuffer() || !c.More() {
			t.Fatalf("CQE %d: %+v", i, c)
		}
		recvd = append(recvd, b.Data(&c)...)
	}
	if c := got[2]; c.Res != -int32(unix.ENOBUFS) || c.More() || c.HasBuffer() {
		t.Fatalf("third CQE %+v, want -ENOBUFS without F_MORE", c)
	}
	quiet(t, r) // the multishot is over
	for _, c := range got[:2] {
		if err := b.Recycle(c.BufID()); err != nil {
			t.Fatal(err)
		}
	}
	b.Publish()
	armMultishot(t, r, fds[1], 3, 2)
	c := reap(t, r, 1)[0]
	if c.UserData != 2 || c.Res != 8 || !c.More() {
		t.Fatalf("after re-arm: %+v", c)
	}
	recvd = append(recvd, b.Data(&c)...)
	if !bytes.Equal(recvd, sent) {
		t.Fatalf("received %q, sent %q", recvd, sent)
	}
}

// A stream far larger than the buffer ring goes through a multishot recv
// that is re-armed whenever it ends; the checksum of what arrived matches.
func TestRecvMultishotStreamNoLoss(t *testing.T) {
	requireCap(t, CapMultishotRecv)
	r := newRing(t, Config{Entries: 8})
	b, err := r.NewBufRing(4, 4, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, s := tcpPair(t)
	const total = 256 << 10
	data := make([]byte, total)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // writer: random chunk sizes, then FIN
		defer wg.Done()
		for off := 0; off < total; {
			n := min(1+rng.IntN(3000), total-off)
			if _, err := unix.Write(c, data[off:off+n]); err != nil {
				return
			}
			off += n
		}
		unix.Shutdown(c, unix.SHUT_WR)
	}()
	defer wg.Wait()
	h := sha256.New()
	recvd, rearms := 0, 0
	armMultishot(t, r, s, 4, 1)
	deadline := time.Now().Add(30 * time.Second)
	var dst [16]*CQE
	for done := false; !done; {
		if time.Now().After(deadline) {
			t.Fatalf("stalled after %d of %d bytes", recvd, total)
		}
		if _, err := r.SubmitAndWaitTimeout(1, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		n := r.PeekBatch(dst[:])
		for _, q := range dst[:n] {
			switch {
			case q.Res > 0:
				h.Write(b.Data(q))
				recvd += int(q.Res)
				if err := b.Recycle(q.BufID()); err != nil {
					t.Fatal(err)
				}
			case q.Res == 0:
				done = true // EOF
			case q.Res != -int32(unix.ENOBUFS):
				t.Fatalf("recv: %v", Errno(q.Res))
			}
			if !q.More() && !done {
				rearms++
				q2 := sqe(t, r)
				q2.PrepRecvMultishot(s, 4, 0)
				q2.SetUserData(1)
			}
		}
		r.CQAdvance(uint32(n))
		b.Publish()
	}
	if recvd != total || !bytes.Equal(h.Sum(nil), sha256Sum(data)) {
		t.Fatalf("received %d of %d bytes, checksum match %v", recvd, total, bytes.Equal(h.Sum(nil), sha256Sum(data)))
	}
	t.Logf("%d bytes through 4x64-byte buffers, %d re-arms", recvd, rearms)
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// A bundle recv fills several buffers with one CQE.
func TestRecvBundle(t *testing.T) {
	requireCap(t, CapRecvBundle)
	r := newRing(t, Config{Entries: 4})
	b, err := r.NewBufRing(5, 8, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	sent := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ++")
	write(t, fds[0], sent)
	q := sqe(t, r)
	q.PrepRecvBundle(fds[1], 5, 0)
	q.SetUserData(1)
	c := reap(t, r, 1)[0]
	if c.Res != int32(len(sent)) || !c.HasBuffer() {
		t.Fatalf("bundle CQE %+v", c)
	}
	// The buffers were published in id order 0..7, so the bundle spans
	// ids BufID, BufID+1, ...
	var recvd []byte
	for id := c.BufID(); len(recvd) < len(sent); id++ {
		recvd = append(recvd, b.Buf(id)...)
	}
	if !bytes.Equal(recvd[:len(sent)], sent) {
		t.Fatalf("bundle data %q", recvd)
	}
}

// A send bundle sends the published buffers of a group in ring order.
func TestSendBundle(t *testing.T) {
	requireCap(t, CapRecvBundle)
	r := newRing(t, Config{Entries: 4})
	b, err := r.NewBufRing(6, 4, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	for id := range uint16(4) {
		copy(b.Buf(id), bytes.Repeat([]byte{'A' + byte(id)}, 8))
	}
	fds := socketpair(t)
	q := sqe(t, r)
	q.PrepSendBundle(fds[0], 6, 0)
	c := reap(t, r, 1)[0]
	wantRes(t, "send bundle", c, 32)
	if got := readAll(t, fds[1], 32); string(got) != "AAAAAAAABBBBBBBBCCCCCCCCDDDDDDDD" {
		t.Fatalf("peer read %q", got)
	}
}

// An incrementally consumed buffer serves several receives: each CQE's data
// continues where the previous one ended, with BufMore until it is full.
func TestRecvIncrementalBuffers(t *testing.T) {
	requireCap(t, CapIncrementalBuf)
	r := newRing(t, Config{Entries: 4})
	b, err := r.NewBufRing(7, 2, 32, PbufRingInc)
	if err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	armMultishot(t, r, fds[1], 7, 1)
	var sent, recvd []byte
	sawMore, sawDone := false, false
	for i, chunk := range []string{"hello", " incremental", " buffers, forty and more bytes"} {
		write(t, fds[0], []byte(chunk))
		sent = append(sent, chunk...)
		for len(recvd) < len(sent) {
			c := reap(t, r, 1)[0]
			if c.Res <= 0 || !c.More() {
				t.Fatalf("chunk %d: %+v (%v)", i, c, Errno(c.Res))
			}
			recvd = append(recvd, b.Data(&c)...)
			if c.BufMore() {
				sawMore = true
			} else {
				sawDone = true
				if err := b.Recycle(c.BufID()); err != nil {
					t.Fatal(err)
				}
				b.Publish()
			}
		}
	}
	if !bytes.Equal(recvd, sent) {
		t.Fatalf("received %q, sent %q", recvd, sent)
	}
	if !sawMore || !sawDone {
		t.Fatalf("BufMore seen %v, buffer completed %v", sawMore, sawDone)
	}
}

// A limited bundle recv over incremental buffers: every CQE carries at most
// the limit, continues where the previous one stopped (across buffers), and
// the recv stays armed.
func TestRecvLimitIncrementalBundle(t *testing.T) {
	requireCap(t, CapRecvLimit)
	requireCap(t, CapIncrementalBuf)
	requireCap(t, CapRecvBundle)
	r := newRing(t, Config{Entries: 4})
	const size, limit = 64, 40
	b, err := r.NewBufRing(8, 8, size, PbufRingInc)
	if err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	sent := make([]byte, 200)
	for i := range sent {
		sent[i] = byte(i)
	}
	write(t, fds[0], sent)
	q := sqe(t, r)
	q.PrepRecvBundle(fds[1], 8, 0)
	q.LimitRecv(limit)
	q.SetUserData(1)
	// The buffers were published in id order, each consumed from where the
	// previous CQE stopped: track the fill of each id.
	fill := make([]int, 8)
	var recvd []byte
	for len(recvd) < len(sent) {
		c := reap(t, r, 1)[0]
		if c.Res <= 0 || c.Res > limit || !c.More() || !c.HasBuffer() {
			t.Fatalf("CQE %+v (%v): want 1..%d bytes, still armed", c, Errno(c.Res), limit)
		}
		for id, left := int(c.BufID()), int(c.Res); left > 0; id++ {
			n := min(left, size-fill[id])
			recvd = append(recvd, b.Buf(uint16(id))[fill[id]:fill[id]+n]...)
			fill[id] += n
			left -= n
		}
	}
	if !bytes.Equal(recvd, sent) {
		t.Fatalf("received %v, sent %v", recvd, sent)
	}
}

// A single-shot buffer-select recv takes one buffer and ends (no F_MORE).
func TestRecvSelect(t *testing.T) {
	requireCap(t, CapBufRing)
	r := newRing(t, Config{Entries: 4})
	b, err := r.NewBufRing(8, 2, 32, 0)
	if err != nil {
		t.Fatal(err)
	}
	fds := socketpair(t)
	write(t, fds[0], []byte("select me"))
	q := sqe(t, r)
	q.PrepRecvSelect(fds[1], 8, 0)
	q.SetUserData(1)
	c := reap(t, r, 1)[0]
	if c.Res != 9 || !c.HasBuffer() || c.More() || c.BufID() >= 2 {
		t.Fatalf("CQE %+v", c)
	}
	if got := string(b.Data(&c)); got != "select me" {
		t.Fatalf("data %q", got)
	}
	// A group with no published buffer: ENOBUFS.
	q = sqe(t, r)
	q.PrepRecvSelect(fds[1], 99, 0)
	write(t, fds[0], []byte("x"))
	wantRes(t, "recv from unknown group", reap(t, r, 1)[0], -int32(unix.ENOBUFS))
}
