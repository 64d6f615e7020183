// Package netpoll is ringo's epoll binding: an edge-triggered epoll instance
// whose events carry a 64-bit token (the same slot|generation shape the
// reactor uses for io_uring user_data), an eventfd wake-up with coalescing,
// and zero-allocation nonblocking socket helpers where golang.org/x/sys/unix
// allocates (accept4 with a caller-owned sockaddr, writev from [][]byte with a
// caller-owned iovec array).
//
// netpoll knows nothing of io_uring or of the reactor. It is, with ring/, one
// of the two packages allowed to use unsafe; every use states its invariant.
//
// Only Linux is supported; on other systems New returns ErrUnsupported.
package netpoll

import "errors"

// ErrUnsupported is returned on systems without epoll.
var ErrUnsupported = errors.New("netpoll: epoll not available")

// ErrClosed is returned by methods of a closed Poller or Waker.
var ErrClosed = errors.New("netpoll: closed")
