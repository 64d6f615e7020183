//go:build !linux

package reactor

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/ringo-io/ringo/ring"
)

// The reactor needs Linux (io_uring or epoll). Elsewhere the API exists so
// that dependent packages build, and Listen/NewServer return
// ErrBackendUnavailable.

// Server is unavailable on this platform.
type Server struct{}

// Loop is unavailable on this platform.
type Loop struct{}

// Conn is unavailable on this platform.
type Conn struct{}

// Timer is unavailable on this platform.
type Timer struct{}

// Listen returns ErrBackendUnavailable on this platform.
func Listen(network, addr string, h Handler, opts ...Option) (*Server, error) {
	return nil, ErrBackendUnavailable
}

// NewServer returns ErrBackendUnavailable on this platform.
func NewServer(h Handler, opts ...Option) (*Server, error) { return nil, ErrBackendUnavailable }

// Start returns ErrBackendUnavailable.
func (s *Server) Start() error { return ErrBackendUnavailable }

// Serve returns ErrBackendUnavailable.
func (s *Server) Serve() error { return ErrBackendUnavailable }

// Shutdown does nothing.
func (s *Server) Shutdown(ctx context.Context) error { return nil }

// Close does nothing.
func (s *Server) Close() error { return nil }

// Addr returns nil.
func (s *Server) Addr() net.Addr { return nil }

// Backend returns "".
func (s *Server) Backend() Backend { return "" }

// BackendReason explains the platform.
func (s *Server) BackendReason() string { return "reactor needs Linux" }

// Features returns the zero value.
func (s *Server) Features() ring.Features { return ring.Features{} }

// Loops returns nil.
func (s *Server) Loops() []*Loop { return nil }

// NumConns returns 0.
func (s *Server) NumConns() int { return 0 }

// Write returns ErrClosed.
func (c *Conn) Write(b []byte) (int, error) { return 0, ErrClosed }

// Writev returns ErrClosed.
func (c *Conn) Writev(bs [][]byte) (int, error) { return 0, ErrClosed }

// AsyncWrite returns ErrClosed.
func (c *Conn) AsyncWrite(b []byte, done func(error)) error { return ErrClosed }

// Close does nothing.
func (c *Conn) Close() error { return nil }

// SetHandler does nothing.
func (c *Conn) SetHandler(h Handler) {}

// CloseWrite returns ErrClosed.
func (c *Conn) CloseWrite() error { return ErrClosed }

// CloseWithError does nothing.
func (c *Conn) CloseWithError(err error) error { return nil }

// Reset does nothing.
func (c *Conn) Reset() error { return nil }

// Context returns nil.
func (c *Conn) Context() any { return nil }

// SetContext does nothing.
func (c *Conn) SetContext(v any) {}

// LocalAddr returns nil.
func (c *Conn) LocalAddr() net.Addr { return nil }

// RemoteAddr returns nil.
func (c *Conn) RemoteAddr() net.Addr { return nil }

// LocalAddrPort returns the zero netip.AddrPort.
func (c *Conn) LocalAddrPort() netip.AddrPort { return netip.AddrPort{} }

// RemoteAddrPort returns the zero netip.AddrPort.
func (c *Conn) RemoteAddrPort() netip.AddrPort { return netip.AddrPort{} }

// Loop returns nil.
func (c *Conn) Loop() *Loop { return nil }

// Fd returns -1.
func (c *Conn) Fd() int { return -1 }

// Buffered returns 0.
func (c *Conn) Buffered() int { return 0 }

// WriteBlocked returns false.
func (c *Conn) WriteBlocked() bool { return false }

// SetIdleTimeout does nothing.
func (c *Conn) SetIdleTimeout(d time.Duration) {}

// SetReadDeadline does nothing.
func (c *Conn) SetReadDeadline(t time.Time) {}

// SetWriteDeadline does nothing.
func (c *Conn) SetWriteDeadline(t time.Time) {}

// PauseReading does nothing.
func (c *Conn) PauseReading() {}

// ResumeReading does nothing.
func (c *Conn) ResumeReading() {}

// SetBusy does nothing.
func (c *Conn) SetBusy(busy bool) {}

// Execute returns ErrLoopClosed.
func (l *Loop) Execute(f func()) error { return ErrLoopClosed }

// AfterFunc returns a Timer that never fires.
func (l *Loop) AfterFunc(d time.Duration, f func()) *Timer { return &Timer{} }

// Stop returns false.
func (t *Timer) Stop() bool { return false }

// Now returns time.Now().
func (l *Loop) Now() time.Time { return time.Now() }

// Dial returns ErrBackendUnavailable.
func (l *Loop) Dial(network, addr string, h Handler) (*Conn, error) {
	return nil, ErrBackendUnavailable
}

// Index returns 0.
func (l *Loop) Index() int { return 0 }

// Go reports false: there are no loops on this platform.
func (l *Loop) Go(f func() (then func())) bool { return false }

// GoTask reports false: there are no loops on this platform.
func (l *Loop) GoTask(t Task) bool { return false }

// NotifySent calls f with ErrClosed.
func (c *Conn) NotifySent(n int, f func(error)) { f(ErrClosed) }
