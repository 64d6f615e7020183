//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Parker parks the calling goroutine in the Go runtime's netpoller until a
// pollable fd (an epoll instance, an io_uring ring) is readable. A goroutine
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
type Parker struct {
	f        *os.File
	rc       syscall.RawConn
	ready    func(uintptr) bool // built once: a Park allocates nothing
	deadline bool               // a read deadline is set
}

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
// readable (edge: an event after the last ready call) or d has passed
// (d < 0: no limit), then calls it again. It returns when ready reported
// true or the time is up.
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
	err := p.rc.Read(p.ready)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}

// Close unregisters and closes the duplicate fd (not the original).
func (p *Parker) Close() error { return p.f.Close() }
