package httpx

import (
	"io"
	"net/http"
	"sync"
)

// bodyPipe carries a request body from the loop (push, finish) to the handler goroutine (Read,
// Close). It is the http.Request.Body of FromHTTP requests.
type bodyPipe struct {
	ar   *asyncReq
	high int // bytes buffered at which the loop pauses reading

	// extra raises high once the response has started with body bytes unread (loop only, under
	// mu): see asyncReq.responseStarted.
	extra int

	mu          sync.Mutex // guards everything below
	buf         []byte     // data not yet read (buf[off:])
	off         int
	err         error       // io.EOF once the whole body arrived, or why it never will
	trailer     http.Header // received trailers, copied to Request.Trailer at EOF
	closed      bool        // the handler closed the body: further data is dropped
	wantResume  bool        // the loop paused reading because the pipe was full
	readStarted bool
	readAll     bool // Read returned io.EOF
	cancelAtEOF bool // the client sent EOF: cancel the Context once the body is read or closed

	got int64 // body bytes the loop pushed so far

	wake chan struct{} // capacity 1: data, error or close arrived
}

// errBodyClosed is net/http's own error for a Read after Close, so handlers can test for it.
var errBodyClosed = http.ErrBodyReadAfterClose

func newBodyPipe(ar *asyncReq, high int) *bodyPipe {
	return &bodyPipe{ar: ar, high: high, wake: make(chan struct{}, 1)}
}

func (p *bodyPipe) signal() { notify(p.wake) }

// appendUnread appends b to the unread bytes buf[off:] and returns the buffer and offset,
// first dropping the bytes already read when buf would have to grow: a buffer read more slowly
// than it is filled stays near its unread size, however long the stream (before, it kept every
// byte until a read emptied it).
func appendUnread(buf []byte, off int, b []byte) ([]byte, int) {
	if off > 0 && len(buf)+len(b) > cap(buf) {
		buf, off = buf[:copy(buf, buf[off:])], 0
	}
	return append(buf, b...), off
}

// notify wakes the one goroutine that waits on ch (capacity 1), if any, without blocking.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// push appends a copy of b (loop only); rest is how many body bytes are still to come after b
// (-1: unknown, chunked). It reports whether the pipe is full, in which case the loop pauses
// reading and the reader asks for a resume once it has read the pipe down. A pipe holding high
// bytes or more is full unless the rest of the body fits within twice high: then the rest is
// taken without pausing (a short body is never held up by a handler that has not read it yet,
// and a client that sends it and half-closes never has bytes parked in the reactor while reading
// is paused; the reactor does not present those after the EOF).
func (p *bodyPipe) push(b []byte, rest int64) bool {
	p.mu.Lock()
	p.got += int64(len(b))
	if p.closed || p.err != nil {
		p.mu.Unlock()
		return false
	}
	p.buf, p.off = appendUnread(p.buf, p.off, b)
	held := len(p.buf) - p.off
	lim := p.high + p.extra
	full := held >= lim && (rest < 0 || int64(held)+rest > 2*int64(p.high)+int64(p.extra))
	if full {
		p.wantResume = true
	}
	p.mu.Unlock()
	p.signal()
	return full
}

// finish ends the body: err nil means complete (the reader then gets io.EOF after the data),
// anything else is returned by Read once the buffered data is read (loop only).
func (p *bodyPipe) finish(trailer http.Header, err error) {
	p.mu.Lock()
	if p.err == nil {
		if err == nil {
			err = io.EOF
		}
		p.err = err
		p.trailer = trailer
	}
	p.mu.Unlock()
	p.signal()
}

// received returns how many body bytes have arrived so far (any goroutine).
func (p *bodyPipe) received() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got
}

// failed reports whether the body ended with an error of its own (malformed, over the limit;
// any goroutine).
func (p *bodyPipe) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err == errBadBody || p.err == errBodyLimit
}

// complete reports whether the whole body arrived (any goroutine).
func (p *bodyPipe) complete() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err == io.EOF
}

// isClosed reports whether the body was closed (by the handler, until its ServeHTTP returns).
func (p *bodyPipe) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Read implements io.Reader for the handler goroutine.
func (p *bodyPipe) Read(b []byte) (int, error) {
	ar := p.ar
	p.mu.Lock()
	if !p.readStarted {
		p.readStarted = true
		if ar.expect100 && p.err == nil && len(p.buf) == p.off {
			ar.t.execute(ar.sendContinue)
		}
	}
	for {
		if p.closed {
			p.mu.Unlock()
			return 0, errBodyClosed
		}
		if p.off < len(p.buf) {
			break
		}
		if p.err != nil {
			err := p.err
			if err == io.EOF && p.trailer != nil {
				for k, v := range p.trailer {
					if ar.req.Trailer == nil {
						ar.req.Trailer = make(http.Header)
					}
					ar.req.Trailer[k] = v
				}
				p.trailer = nil
			}
			cancel := false
			if err == io.EOF {
				p.readAll = true
				cancel, p.cancelAtEOF = p.cancelAtEOF, false
			}
			p.mu.Unlock()
			p.signal() // another Read waiting gets the end too
			if cancel {
				ar.cancel()
			}
			return 0, err
		}
		if len(b) == 0 {
			// Nothing to wait for: as with net/http's body, a zero-length Read returns at once.
			p.mu.Unlock()
			return 0, nil
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-ar.req.Context().Done():
			p.mu.Lock()
			if p.off < len(p.buf) || p.err != nil {
				continue
			}
			p.mu.Unlock()
			return 0, errClientGone
		}
		p.mu.Lock()
	}
	n := copy(b, p.buf[p.off:])
	p.off += n
	resume := p.wantResume && len(p.buf)-p.off <= p.high/2
	if resume {
		p.wantResume = false
	}
	more := p.off < len(p.buf)
	p.mu.Unlock()
	if more {
		p.signal() // another Read waiting takes the rest (wake holds one token)
	}
	if resume {
		ar.t.execute(ar.resumeBody)
	}
	return n, nil
}

// Close implements io.Closer: unread data is dropped, and the rest of the body is discarded as
// it arrives.
func (p *bodyPipe) Close() error {
	p.mu.Lock()
	p.closed = true
	p.buf, p.off = nil, 0
	resume := p.wantResume
	p.wantResume = false
	cancel := p.cancelAtEOF
	p.cancelAtEOF = false
	p.mu.Unlock()
	p.signal() // a Read waiting in another goroutine returns errBodyClosed now
	if cancel {
		p.ar.cancel()
	}
	if resume {
		p.ar.t.execute(p.ar.resumeBody)
	}
	return nil
}

// cancelAtEnd is called when the client sent EOF (loop only). net/http notices a client's EOF
// only once the handler has read the body to its end (its background read starts then), so a
// client that sends a whole request and half-closes has the Context of a handler that has not
// read its body cancelled only after that read, or a Close: cancelAtEnd arranges for that and
// reports true, or reports false when the body was read to its end or closed already (cancel
// now). Cancelling at once also made Read return errClientGone with body bytes still parked in
// the engine (a paused pipe) on their way. A body that the EOF cut off fails through cutAsync.
func (p *bodyPipe) cancelAtEnd() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readAll || p.closed {
		return false
	}
	p.cancelAtEOF = true
	return true
}
