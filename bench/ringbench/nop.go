// Package ringbench compares ringo's ring package with giouring on the
// io_uring hot path: preparing NOPs, submitting them with one
// io_uring_enter, and reaping their completions.
//
// Each library runs with the best setup it offers for this loop: giouring
// with SINGLE_ISSUER|DEFER_TASKRUN|SUBMIT_ALL (it predates NO_SQARRAY and
// would write the SQ array through a zero offset), ringo with its defaults
// (the same flags plus NO_SQARRAY and CQSIZE). The SQ size and the loop are
// the same. Where ringo's code differs: it submits with RawSyscall (a
// submit-only io_uring_enter cannot block) where giouring uses Syscall6,
// caches the SQ head, and skips the SQ array.
//
// giouring reaches into the runtime with go:linkname: build and test with
// -ldflags=-checklinkname=0.
package ringbench

import (
	"fmt"

	"github.com/pawelgaczynski/giouring"
	"github.com/ringo-io/ringo/ring"
)

// Entries is the SQ size of both rings, the largest batch.
const Entries = 128

// flags are the setup flags both rings use (ringo adds NO_SQARRAY, CQSIZE).
const flags = ring.SetupSingleIssuer | ring.SetupDeferTaskrun | ring.SetupSubmitAll

// Ringo runs NOP rounds on a ringo ring. Loop only: create and use it on one
// goroutine locked to its OS thread.
type Ringo struct {
	r   *ring.Ring
	dst []*ring.CQE
}

// NewRingo creates the ring with ringo's defaults, requiring flags.
func NewRingo() (*Ringo, error) {
	r, err := ring.New(ring.Config{Entries: Entries, Require: flags})
	if err != nil {
		return nil, err
	}
	if r.SetupFlags()&flags != flags {
		r.Close()
		return nil, fmt.Errorf("ringbench: ringo setup flags %#x, want %#x", r.SetupFlags(), flags)
	}
	return &Ringo{r: r, dst: make([]*ring.CQE, Entries)}, nil
}

// Round submits batch NOPs (user data 0..batch-1) and reaps them, checking
// each completion. It returns the sum of the user data reaped.
func (x *Ringo) Round(batch int) (uint64, error) {
	r := x.r
	for i := range batch {
		s := r.GetSQE()
		if s == nil {
			return 0, ring.ErrSQFull
		}
		s.PrepNop()
		s.SetUserData(uint64(i))
	}
	if _, err := r.Submit(); err != nil {
		return 0, err
	}
	var sum uint64
	for reaped := 0; reaped < batch; {
		n := r.PeekBatch(x.dst)
		if n == 0 { // NOPs complete inside the submit; a safety net only
			if _, err := r.SubmitAndWait(uint32(batch - reaped)); err != nil {
				return 0, err
			}
			continue
		}
		for _, c := range x.dst[:n] {
			if c.Res != 0 {
				return 0, fmt.Errorf("ringbench: NOP res %d", c.Res)
			}
			sum += c.UserData
		}
		r.CQAdvance(uint32(n))
		reaped += n
	}
	return sum, nil
}

// Close closes the ring.
func (x *Ringo) Close() error { return x.r.Close() }

// Giouring runs the same NOP rounds on a giouring ring.
type Giouring struct {
	r   *giouring.Ring
	dst []*giouring.CompletionQueueEvent
}

// NewGiouring creates the giouring ring with flags.
func NewGiouring() (*Giouring, error) {
	r := giouring.NewRing()
	if err := r.QueueInit(Entries, flags); err != nil {
		return nil, err
	}
	return &Giouring{r: r, dst: make([]*giouring.CompletionQueueEvent, Entries)}, nil
}

// Round is Ringo.Round with giouring.
func (x *Giouring) Round(batch int) (uint64, error) {
	r := x.r
	for i := range batch {
		s := r.GetSQE()
		if s == nil {
			return 0, ring.ErrSQFull
		}
		s.PrepareNop()
		s.UserData = uint64(i)
	}
	if _, err := r.Submit(); err != nil {
		return 0, err
	}
	var sum uint64
	for reaped := 0; reaped < batch; {
		n := int(r.PeekBatchCQE(x.dst))
		if n == 0 {
			if _, err := r.SubmitAndWait(uint32(batch - reaped)); err != nil {
				return 0, err
			}
			continue
		}
		for _, c := range x.dst[:n] {
			if c.Res != 0 {
				return 0, fmt.Errorf("ringbench: NOP res %d", c.Res)
			}
			sum += c.UserData
		}
		r.CQAdvance(uint32(n))
		reaped += n
	}
	return sum, nil
}

// Close closes the ring.
func (x *Giouring) Close() error { x.r.QueueExit(); return nil }
