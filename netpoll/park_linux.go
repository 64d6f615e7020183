//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Parker parks the calling goroutine in the Go runtime's netpoller until a
// pollable fd (an epoll instance, an io_uring ring without DEFER_TASKRUN) is
// readable. Not a DEFER_TASKRUN ring: its completions are posted only when
// its own thread enters the ring, so nothing makes its fd readable while
// that thread is parked. A goroutine
// blocked in epoll_wait or io_uring_enter keeps its P (the runtime cannot
// tell the call will block), so until sysmon retakes it, 20 µs to 10 ms
// later, no other goroutine runs there and the runtime's own netpoller is
// not polled; a parked goroutine holds no P, and the runtime waits for its
// fd and every other goroutine's in one epoll_wait.
//
// The Parker holds a duplicate of the fd, registered with the runtime's
// netpoller (edge-triggered). The duplicate shares the open file
// description, so the O_NONBLOCK the runtime needs is set on the original
// too; epoll_wait and io_uring_enter do not look at it. The fd is not
// closed by the Parker; Close releases the duplicate. One goroutine at a
// time may Park.
//
// Wake ends a Park from another goroutine without a syscall: it sets a read
// deadline in the past, which the runtime turns into a wake-up of the parked
// goroutine (ErrDeadlineExceeded, taken as a normal return).
type Parker struct {
	f        *os.File
	rc       syscall.RawConn
	ready    func(uintptr) bool // built once: a Park allocates nothing
	deadline bool               // a read deadline may be set (parking goroutine only)

	parking atomic.Bool // a Park is under way and no Wake ended it yet
}

// pastDeadline is a read deadline that has passed.
var pastDeadline = time.Unix(1, 0)

// NewParker registers a duplicate of fd with the runtime's netpoller. Park
// waits until ready, which runs on the parking goroutine, reports true.
func NewParker(fd int, ready func() bool) (*Parker, error) {
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netpoll: dup for parking: %w", err)
	}
	if err := unix.SetNonblock(d, true); err != nil {
		unix.Close(d)
		return nil, fmt.Errorf("netpoll: nonblocking fd for parking: %w", err)
	}
	f := os.NewFile(uintptr(d), "netpoll-park")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &Parker{f: f, rc: rc, ready: func(uintptr) bool { return ready() }}
	// A file the runtime could not register would block the thread in Read:
	// check that a deadline is honoured (only pollable files take one).
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, fmt.Errorf("netpoll: fd %d is not pollable by the runtime: %w", fd, err)
	}
	return p, nil
}

// Park calls ready, and while it reports false parks until the fd becomes
// readable (edge: an event after the last ready call), d has passed (d < 0:
// no limit) or Wake is called, then calls it again (not after a Wake or the
// time). It returns when ready reported true, the time is up or it was woken.
//
// Wake protocol: whoever wants the parked goroutine to look again first
// publishes its reason where ready reads it (an atomic store), then calls
// Wake; Park marks itself parking before ready runs. With sequentially
// consistent atomics either ready sees the reason or Wake sees parking and
// sets the deadline; one set between ready and the goroutine's sleep is
// caught by the runtime, which checks the deadline after registering the
// waiter. A Wake's deadline that lands after the Park it was meant for ended
// makes the next Park return at once; every Park that ends on a deadline
// makes the next one set (or clear) the deadline again, so each Wake causes
// at most one such spurious return.
func (p *Parker) Park(d time.Duration) error {
	switch {
	case d >= 0:
		p.deadline = true
		if err := p.f.SetReadDeadline(time.Now().Add(d)); err != nil {
			return err
		}
	case p.deadline:
		p.deadline = false
		if err := p.f.SetReadDeadline(time.Time{}); err != nil {
			return err
		}
	}
	p.parking.Store(true)
	err := p.rc.Read(p.ready)
	p.parking.Store(false)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		p.deadline = true // possibly a Wake's past deadline: reset it next time
		return nil
	}
	return err
}

// Wake ends the current Park, if one is under way and not woken yet, without
// a syscall (see Park for the protocol). Safe from any goroutine, also after
// Close (it then does nothing).
func (p *Parker) Wake() {
	if p.parking.Load() && p.parking.CompareAndSwap(true, false) {
		p.f.SetReadDeadline(pastDeadline)
	}
}

// Close unregisters and closes the duplicate fd (not the original).
func (p *Parker) Close() error { return p.f.Close() }
