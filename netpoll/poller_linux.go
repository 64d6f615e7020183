//go:build linux

package netpoll

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Event bits reported by Poller.Event, mapped from EPOLL* bits.
const (
	EventRead  uint32 = 1 << iota // EPOLLIN: data, EOF or a pending connection
	EventWrite                    // EPOLLOUT: send buffer space or connect finished
	EventHup                      // EPOLLHUP or EPOLLRDHUP: peer closed (read until EOF)
	EventErr                      // EPOLLERR: socket error pending (read SO_ERROR or the next call)
	EventPri                      // EPOLLPRI: TCP urgent data (a read stops short at its mark)
)

// Interest sets for Add and Mod. All registrations are edge-triggered
// (EPOLLET): the caller must read or write until EAGAIN before it can expect
// another event for the same direction.
const (
	InterestRead      uint32 = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLPRI
	InterestWrite     uint32 = unix.EPOLLOUT
	InterestReadWrite uint32 = InterestRead | InterestWrite
)

// Poller is one edge-triggered epoll instance.
//
// Loop only: a Poller is driven by one goroutine (Wait, Event, Add, Mod, Del,
// Close). Only its Waker (see NewWaker) is safe from any goroutine.
type Poller struct {
	epfd   int               // immutable until Close; -1 after
	events []unix.EpollEvent // Wait's output; read by Event until the next Wait
	closed atomic.Bool
}

// New creates an epoll instance (EPOLL_CLOEXEC) able to report up to
// maxEvents events per Wait (0 means 256).
func New(maxEvents int) (*Poller, error) {
	if maxEvents <= 0 {
		maxEvents = 256
	}
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &Poller{epfd: fd, events: make([]unix.EpollEvent, maxEvents)}, nil
}

// Fd returns the epoll file descriptor. Loop only.
func (p *Poller) Fd() int { return p.epfd }

// setToken stores the 64-bit token into epoll_event.data. x/sys splits the
// data union into Fd (low 32 bits) and Pad (high 32 bits) on every
// little-endian layout (amd64 packs them at offset 4, arm64 pads to 8).
func setToken(ev *unix.EpollEvent, token uint64) {
	ev.Fd = int32(uint32(token))
	ev.Pad = int32(uint32(token >> 32))
}

func getToken(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// Add registers fd, edge-triggered, for interest (InterestRead,
// InterestWrite or both); its events will carry token. Loop only.
func (p *Poller) Add(fd int, token uint64, interest uint32) error {
	return p.ctl(unix.EPOLL_CTL_ADD, fd, token, interest)
}

// Mod changes fd's interest and token. Loop only.
func (p *Poller) Mod(fd int, token uint64, interest uint32) error {
	return p.ctl(unix.EPOLL_CTL_MOD, fd, token, interest)
}

// Del removes fd. Closing fd removes it too (when no dup of it exists).
// Loop only.
func (p *Poller) Del(fd int) error {
	if p.closed.Load() {
		return ErrClosed
	}
	// A non-nil event keeps pre-2.6.9 semantics out of the question.
	var ev unix.EpollEvent
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, &ev)
}

func (p *Poller) ctl(op, fd int, token uint64, interest uint32) error {
	if p.closed.Load() {
		return ErrClosed
	}
	ev := unix.EpollEvent{Events: interest | unix.EPOLLET}
	setToken(&ev, token)
	return unix.EpollCtl(p.epfd, op, fd, &ev)
}

// Wait waits up to timeoutMs milliseconds (-1: forever, 0: poll) for events
// and returns how many are readable through Event. EINTR returns 0 events and
// no error (the caller's loop simply iterates again). Wait blocks in
// unix.Syscall6 (epoll_pwait) so the Go scheduler runs other goroutines
// meanwhile; a poll (0) cannot block and uses RawSyscall6. Loop only.
func (p *Poller) Wait(timeoutMs int) (int, error) {
	if p.closed.Load() {
		return 0, ErrClosed
	}
	var n int
	var err error
	if timeoutMs == 0 {
		n, err = p.poll()
	} else {
		n, err = unix.EpollWait(p.epfd, p.events, timeoutMs)
	}
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// poll is epoll_wait with a zero timeout. It cannot block, so it uses
// RawSyscall6: no scheduler hand-off around it.
func (p *Poller) poll() (int, error) {
	// p.events is heap memory owned by p; the kernel writes at most
	// len(p.events) entries into it during this call only.
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&p.events[0])),
		uintptr(len(p.events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// Event returns the token and Event* bits of the i-th event of the last
// Wait. Loop only.
func (p *Poller) Event(i int) (token uint64, events uint32) {
	ev := &p.events[i]
	e := ev.Events
	if e&unix.EPOLLIN != 0 {
		events |= EventRead
	}
	if e&unix.EPOLLOUT != 0 {
		events |= EventWrite
	}
	if e&(unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
		events |= EventHup
	}
	if e&unix.EPOLLERR != 0 {
		events |= EventErr
	}
	if e&unix.EPOLLPRI != 0 {
		events |= EventPri
	}
	return getToken(ev), events
}

// Close closes the epoll fd. Idempotent. Loop only.
func (p *Poller) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	err := unix.Close(p.epfd)
	p.epfd = -1
	return err
}
