package httpx

import (
	"net"
	"time"
)

var fixedNow = time.Unix(1700000000, 0)

// sinkConn is a transport that counts and drops output (allocation tests and benchmarks).
type sinkConn struct {
	n      int
	closed bool
}

func (s *sinkConn) write(b []byte)              { s.n += len(b) }
func (s *sinkConn) close()                      { s.closed = true }
func (s *sinkConn) abort()                      { s.closed = true }
func (s *sinkConn) pauseReading()               {}
func (s *sinkConn) resumeReading()              {}
func (s *sinkConn) buffered() int               { return 0 }
func (s *sinkConn) writeBlocked() bool          { return false }
func (s *sinkConn) execute(f func()) bool       { return false }
func (s *sinkConn) whenDrained(n int, f func()) { f() }
func (s *sinkConn) remoteAddr() net.Addr        { return memRemote }
func (s *sinkConn) localAddr() net.Addr         { return memLocal }
func (s *sinkConn) touch()                      {}
