//go:build linux

package ring

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// Incremental buffer ring, followed to the letter of the BufRing doc
// (recycle an id on a CQE without BufMore; re-arm when F_MORE is gone):
// the stream read through Data matches what was sent, across tail wrap.
func TestIncrementalStream(t *testing.T) {
	requireCap(t, CapIncrementalBuf|CapMultishotRecv)
	for _, c := range []struct {
		name     string
		count    uint32
		size     uint32
		inc      uint32
		maxChunk int
	}{{"inc", 2, 100, PbufRingInc, 300}, {"inc1", 1, 64, PbufRingInc, 200}, {"plain", 2, 100, 0, 300}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(t, Config{Entries: 8})
			b, err := r.NewBufRing(5, c.count, c.size, c.inc)
			if err != nil {
				t.Fatal(err)
			}
			fds := socketpair(t)
			rng := rand.New(rand.NewPCG(1, 2))
			sent := make([]byte, 0, 1<<20)
			var recvd []byte
			ud := uint64(1)
			armMultishot(t, r, fds[1], 5, ud)
			deadline := time.Now().Add(20 * time.Second)
			rearms := 0
			for i := 0; i < 3000; i++ {
				chunk := make([]byte, 1+rng.IntN(c.maxChunk))
				for j := range chunk {
					chunk[j] = byte(rng.Uint32())
				}
				write(t, fds[0], chunk)
				sent = append(sent, chunk...)
				for len(recvd) < len(sent) {
					if time.Now().After(deadline) {
						t.Fatalf("timeout at %d/%d", len(recvd), len(sent))
					}
					cq := reap(t, r, 1)[0]
					if cq.UserData != ud {
						t.Fatalf("stale CQE %+v", cq)
					}
					if cq.Res > 0 {
						d := b.Data(&cq)
						if len(d) != int(cq.Res) {
							t.Fatalf("Data len %d, res %d, flags %#x", len(d), cq.Res, cq.Flags)
						}
						recvd = append(recvd, d...)
						if !bytes.Equal(recvd, sent[:len(recvd)]) {
							t.Fatalf("stream diverges at chunk %d (recvd %d, cqe %+v)", i, len(recvd), cq)
						}
					}
					if cq.HasBuffer() && !cq.BufMore() {
						if err := b.Recycle(cq.BufID()); err != nil {
							t.Fatal(err)
						}
						b.Publish()
					}
					if !cq.More() {
						if cq.Res < 0 && Errno(cq.Res).Error() != "no buffer space available" {
							t.Fatalf("recv ended: %+v (%v)", cq, Errno(cq.Res))
						}
						ud++
						rearms++
						armMultishot(t, r, fds[1], 5, ud)
					}
				}
			}
			t.Logf("%d bytes, %d re-arms, tail %d", len(sent), rearms, b.tail)
		})
	}
}
