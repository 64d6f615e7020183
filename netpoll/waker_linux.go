//go:build linux

package netpoll

import (
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Waker is an eventfd used to wake a loop blocked in epoll_wait or
// io_uring_enter, with wake-ups coalesced by an atomic flag.
//
// Protocol (as in the Go runtime's netpollBreak):
//
//	other goroutine:  publish work (queue push), then Wake()
//	loop:             on the wake event: Drain() (read the counter, then clear
//	                  the flag), then consume the queue
//
// The flag is cleared after the counter is read and before the queue is
// consumed. sync/atomic is sequentially consistent, so a Wake whose CAS found
// the flag still set is ordered before the loop's clear, and its push before
// the loop's queue read: that work is seen without another write. A Wake
// after the clear writes the eventfd again and produces a new event.
type Waker struct {
	fd      int           // eventfd (EFD_NONBLOCK|EFD_CLOEXEC); immutable until Close
	pending atomic.Uint32 // 1 while a write is outstanding and not yet drained
	closed  atomic.Bool
	buf     [8]byte // Drain's read buffer (loop only)
}

// NewWaker creates the eventfd (nonblocking; a caller that has a ring read it
// may make it blocking, Wake never blocks since it writes at most once per
// drain).
func NewWaker() (*Waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &Waker{fd: fd}, nil
}

// Fd returns the eventfd, to register with a Poller or to read from a ring.
// Safe from any goroutine (immutable).
func (w *Waker) Fd() int { return w.fd }

// Wake makes the eventfd readable unless a wake-up is already pending.
// Safe from any goroutine.
func (w *Waker) Wake() error {
	if w.closed.Load() {
		return ErrClosed
	}
	if !w.pending.CompareAndSwap(0, 1) {
		return nil // coalesced: the loop has not drained the previous one yet
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(w.fd, one[:])
		switch err {
		case nil, unix.EAGAIN:
			// EAGAIN: the counter is at its maximum, so it is readable anyway.
			return nil
		case unix.EINTR:
			continue
		default:
			return err
		}
	}
}

// Drain reads (resets) the counter and clears the pending flag, so that the
// next Wake writes again. Loop only.
func (w *Waker) Drain() {
	if w.closed.Load() {
		return // the fd number may already belong to another file
	}
	for {
		_, err := unix.Read(w.fd, w.buf[:])
		if err != unix.EINTR {
			break
		}
	}
	w.pending.Store(0)
}

// Acknowledge clears the pending flag without reading the counter, for a
// loop whose ring read already consumed it. Loop only.
func (w *Waker) Acknowledge() { w.pending.Store(0) }

// Closed reports whether Close was called. Safe from any goroutine.
func (w *Waker) Closed() bool { return w.closed.Load() }

// Close closes the eventfd. Idempotent. The caller must order Close after
// every Wake that may still run (e.g. both under the mutex of its work
// queue): a Wake racing Close could write to a reused descriptor number.
func (w *Waker) Close() error {
	if w.closed.Swap(true) {
		return nil
	}
	return unix.Close(w.fd)
}
