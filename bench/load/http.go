package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
)

// maxHeader bounds the response header block the reader accepts.
const maxHeader = 64 << 10

// respReader reads HTTP/1.1 responses from one connection, framing each by
// its Content-Length. Owned by one goroutine.
type respReader struct {
	c    net.Conn
	buf  []byte // buf[r:w] holds unread bytes
	r, w int
}

func newRespReader(c net.Conn) *respReader {
	return &respReader{c: c, buf: make([]byte, 16<<10)}
}

var (
	crlf2  = []byte("\r\n\r\n")
	clName = []byte("content-length:")
)

// fill reads more bytes, compacting or growing the buffer as needed.
func (rr *respReader) fill() error {
	if rr.r > 0 && rr.r == rr.w {
		rr.r, rr.w = 0, 0
	}
	if rr.w == len(rr.buf) {
		if rr.r > 0 {
			rr.w = copy(rr.buf, rr.buf[rr.r:rr.w])
			rr.r = 0
		} else {
			if len(rr.buf) >= maxHeader {
				return errors.New("response header too large")
			}
			nb := make([]byte, 2*len(rr.buf))
			rr.w = copy(nb, rr.buf[rr.r:rr.w])
			rr.r = 0
			rr.buf = nb
		}
	}
	n, err := rr.c.Read(rr.buf[rr.w:])
	rr.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// next consumes one response. It returns the status code and whether the
// body is exactly want (always true when want is nil); an error means the
// connection is unusable (framing or I/O).
func (rr *respReader) next(want []byte) (status int, bodyOK bool, err error) {
	var end int
	for {
		if i := bytes.Index(rr.buf[rr.r:rr.w], crlf2); i >= 0 {
			end = rr.r + i + 4
			break
		}
		if err := rr.fill(); err != nil {
			return 0, false, err
		}
	}
	head := rr.buf[rr.r:end]
	status, clen, err := parseHead(head)
	if err != nil {
		return 0, false, err
	}
	rr.r = end
	// Consume the body (what is buffered, then the rest), comparing it
	// with want as it goes.
	bodyOK = want == nil || clen == len(want)
	off := 0
	for clen > 0 {
		if rr.r == rr.w {
			if err := rr.fill(); err != nil {
				return 0, false, err
			}
		}
		n := min(clen, rr.w-rr.r)
		if bodyOK && want != nil && !bytes.Equal(rr.buf[rr.r:rr.r+n], want[off:off+n]) {
			bodyOK = false
		}
		off += n
		rr.r += n
		clen -= n
	}
	return status, bodyOK, nil
}

// errBody is the error of a 200 response whose body is not Config.Body.
var errBody = errors.New("response body differs from the expected one")

// parseHead checks the status line and returns the status code and the
// Content-Length of a response header block (which ends in CRLFCRLF).
func parseHead(head []byte) (status, clen int, err error) {
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok || len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, fmt.Errorf("bad status line %q", trunc(line))
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, 0, fmt.Errorf("bad status line %q", trunc(line))
		}
		status = status*10 + int(c-'0')
	}
	clen = -1
	for len(rest) > 2 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(h) > len(clName) && bytes.EqualFold(h[:len(clName)], clName) {
			if clen >= 0 {
				return 0, 0, errors.New("duplicate Content-Length")
			}
			v := bytes.TrimSpace(h[len(clName):])
			if len(v) == 0 || len(v) > 12 {
				return 0, 0, fmt.Errorf("bad Content-Length %q", trunc(v))
			}
			clen = 0
			for _, c := range v {
				if c < '0' || c > '9' {
					return 0, 0, fmt.Errorf("bad Content-Length %q", trunc(v))
				}
				clen = clen*10 + int(c-'0')
			}
		}
	}
	if clen < 0 {
		return 0, 0, errors.New("response without Content-Length")
	}
	return status, clen, nil
}

func trunc(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}
