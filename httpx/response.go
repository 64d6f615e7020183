package httpx

import (
	"net/http"
	"strconv"
	"time"
)

// Life of a write (fast path).
//
// A HandlerFunc runs inline on the connection's loop. Ctx.Write/WriteString/SetBody only fill
// the Ctx's response buffer; nothing is sent while the handler runs. When it returns, the engine
// appends the status line (prebuilt per status code), the cached Date line, Content-Type,
// Content-Length, Connection when needed, the handler's own header lines and the body to the
// connection's output buffer, with no formatting beyond one integer conversion. Pipelined
// requests found in the same input append their responses behind it. At the end of the input
// callback the whole output buffer is handed to reactor.Conn.Write in one call (which copies it
// into the connection's outbound queue), and the reactor sends it with one send per connection
// per loop iteration: sixteen pipelined requests cost one send.
//
// Ctx.Flush switches the response to streaming: the header goes out at once with
// Transfer-Encoding: chunked (HTTP/1.1; an HTTP/1.0 client gets a body delimited by close),
// and every later Flush and the handler's return emit what was written since as one chunk.

// statusLines holds "HTTP/1.1 <code> <reason>\r\n" for every code 100..599, built once.
var statusLines = buildStatusLines()

func buildStatusLines() (t [600][]byte) {
	for code := 100; code < 600; code++ {
		b := append([]byte("HTTP/1.1 "), strconv.Itoa(code)...)
		b = append(b, ' ')
		b = append(b, http.StatusText(code)...)
		t[code] = append(b, "\r\n"...)
	}
	return t
}

const (
	continueResponse = "HTTP/1.1 100 Continue\r\n\r\n"
	crlf             = "\r\n"
	connCloseLine    = "Connection: close\r\n"
	connKeepLine     = "Connection: keep-alive\r\n"
	connUpgradeLine  = "Connection: Upgrade\r\n"
	chunkedTELine    = "Transfer-Encoding: chunked\r\n"
	lastChunk        = "0\r\n\r\n"
)

// loopCache is what the connections of one loop share, loop only: the Date field line,
// reformatted at most once per second (the owner calls update with the loop's cached clock
// before feeding input), and the last Host value found valid.
type loopCache struct {
	sec  int64
	line [len("Date: ") + len(http.TimeFormat) + 2]byte

	// host[:hostLen] passed validHost. Clients send the same Host on every request, so
	// comparing with it saves validating it again (16 ns for "127.0.0.1:8080").
	hostLen uint8
	host    [48]byte

	// hostLine[:hostLineLen] is the last "Host: " field line (CRLF included) the fast path
	// parsed and found valid, its value at hostVal within it. A line equal to it byte for
	// byte parses to the same field, so one compare replaces the scan and the check.
	hostLineLen uint8
	hostVal     [2]uint8
	hostLine    [64]byte

	// reqLine[:reqLineLen] is the last origin-form HTTP/1.1 request line (CRLF included) the
	// fast path parsed and accepted; reqSpans are its method, target, path and query,
	// relative to its start. Keep-alive clients often repeat a request, and a line equal to
	// it byte for byte parses to the same spans.
	reqLineLen uint8
	reqSpans   [4]span
	reqLine    [64]byte

	// head[:headLen] is the last request head (final CRLF included) parsed and accepted under
	// the limits headLim, as headParsed records it (fields aside: headFields[:headFieldN]).
	// Keep-alive clients often send the same head again and again (pipelined ones too), and
	// a head equal to it byte for byte parses to the same result, so one compare replaces
	// parsing its lines.
	headLen    uint8
	headFieldN uint8
	headStores uint8 // heads kept since the cache was last used
	headRest   uint8 // heads not to keep, after headTries unused ones
	headLim    *limits
	headFields [8]hfield
	headParsed headInfo
	head       [255]byte

	// pre is the last fast-path response head with a body of known length, up to and
	// including its Content-Length line: status line, Date, Content-Type (preType),
	// "Content-Length: " (which ends at preCL) and preLen with CRLF. It was built for
	// preStatus at second preSec. Most handlers answer alike, so one append replaces six.
	okType string // the last value SetContentType accepted

	// lastParts is the last string FromHTTP built of a request's target and field values (see
	// buildRequest), for the next request that repeats them.
	lastParts string

	pre       []byte
	preType   []byte
	preStatus int
	preSec    int64
	preCL     int
	preLen    int64

	// FromHTTP: response buffers and header lines buffers whose responses were delivered, for
	// this loop's next requests (see asyncReq.recycle). Header maps are not kept: a handler's
	// goroutine may still hold its map after the response went out.
	raws  [][]byte
	lines [][]byte
}

// Bounds of the loop's FromHTTP spares: how many of each, and their sizes.
const (
	maxSpares     = 64
	maxSpareBytes = 8 << 10 // bytes of a response buffer
)

// takeSpares returns two spare buffers, for the response and for its header lines (either nil
// if none). Loop only.
func (d *loopCache) takeSpares() (b, lines []byte) {
	if n := len(d.raws); n > 0 {
		b, d.raws[n-1], d.raws = d.raws[n-1], nil, d.raws[:n-1]
	}
	if n := len(d.lines); n > 0 {
		lines, d.lines[n-1], d.lines = d.lines[n-1], nil, d.lines[:n-1]
	}
	return b, lines
}

// putSpares keeps the response buffers raws and the header lines buffers lines for later
// requests, within the bounds; nil ones are skipped. Loop only.
func (d *loopCache) putSpares(raws, lines [2][]byte) {
	keepSpares(&d.raws, raws)
	keepSpares(&d.lines, lines)
}

// keepSpares appends the buffers bs (emptied) to pool, within the bounds.
func keepSpares(pool *[][]byte, bs [2][]byte) {
	for _, b := range bs {
		if b != nil && cap(b) <= maxSpareBytes && len(*pool) < maxSpares {
			*pool = append(*pool, b[:0])
		}
	}
}

func newLoopCache(now time.Time) *loopCache {
	d := &loopCache{sec: -1 << 62, preStatus: -1}
	d.update(now)
	return d
}

func (d *loopCache) update(now time.Time) {
	s := now.Unix()
	if s == d.sec || s == d.sec-1 {
		// One second back is the loop's cached clock (OnData) lagging the time.Now of a
		// task that updated first: the Date would step back. A real clock step is larger.
		return
	}
	d.sec = s
	b := append(d.line[:0], "Date: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	_ = append(b, crlf...)
}

// appendHeadStart appends the status line, the Date line and the Content-Type line (when
// ctype is not empty) of a fast-path response.
func (d *loopCache) appendHeadStart(b []byte, status int, ctype []byte) []byte {
	b = append(b, statusLines[status]...)
	b = append(b, d.line[:]...)
	if len(ctype) > 0 {
		b = append(b, "Content-Type: "...)
		b = append(b, ctype...)
		b = append(b, crlf...)
	}
	return b
}

// headPrefix returns the head of a response with this status, Content-Type and
// Content-Length, up to and including the Content-Length line, then the CRLF that ends a
// head with no other lines. The result is valid until the next call.
func (d *loopCache) headPrefix(status int, ctype []byte, length int64) []byte {
	if status != d.preStatus || d.preSec != d.sec || !sameBytes(ctype, d.preType) {
		d.pre = append(d.appendHeadStart(d.pre[:0], status, ctype), "Content-Length: "...)
		d.preCL = len(d.pre)
		d.preType = append(d.preType[:0], ctype...)
		d.preStatus, d.preSec = status, d.sec
		d.preLen = -1
	}
	if length != d.preLen {
		d.pre = strconv.AppendInt(d.pre[:d.preCL], length, 10)
		d.pre = append(d.pre, crlf+crlf...)
		d.preLen = length
	}
	return d.pre
}

// bodyAllowed reports whether a response with this status carries content (RFC 9110 6.4.1).
func bodyAllowed(status int) bool { return status >= 200 && status != 204 && status != 304 }

// appendErrorResponse appends a complete error response that closes the connection; without its
// body when it answers a HEAD request.
func appendErrorResponse(out []byte, status int, date *loopCache, head bool) []byte {
	if status < 100 || status > 599 {
		status = 500
	}
	text := http.StatusText(status)
	out = append(out, statusLines[status]...)
	if date != nil {
		out = append(out, date.line[:]...)
	} else {
		out = append(out, "Date: "...)
		out = time.Now().UTC().AppendFormat(out, http.TimeFormat)
		out = append(out, crlf...)
	}
	out = append(out, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(text)+5), 10) // "NNN " text "\n"
	out = append(out, crlf+connCloseLine+crlf...)
	if head {
		return out
	}
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, text...)
	return append(out, '\n')
}

// appendHead appends the status line and the engine-managed fields of a fast-path response.
// length < 0 means the length is not known (streaming).
func (e *engine) appendHead(c *Ctx, length int64) {
	out := e.out
	if length >= 0 && bodyAllowed(c.status) && len(c.ctype) <= maxCachedType {
		pre := e.lc.headPrefix(c.status, c.ctype, length)
		if c.keepAlive && c.h.minor == 1 && len(c.hdr) == 0 {
			e.out = append(out, pre...) // the whole head: nothing goes between
			return
		}
		e.out = e.appendHeadEnd(c, append(out, pre[:len(pre)-len(crlf)]...))
		return
	}
	out = e.lc.appendHeadStart(out, c.status, c.ctype)
	switch {
	case !bodyAllowed(c.status):
	case length == headUnknown: // a HEAD response whose handler wrote nothing: no framing
	case length >= 0:
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, length, 10)
		out = append(out, crlf...)
	case c.h.minor == 1:
		out = append(out, chunkedTELine...)
		c.chunkedOut = true
	default:
		c.keepAlive = false // HTTP/1.0: the body ends when the connection closes
	}
	e.out = e.appendHeadEnd(c, out)
}

// headUnknown is appendHead's length for a HEAD response whose handler wrote no body: it may
// have left out the body GET would send, so no Content-Length is announced (RFC 9110 8.6; as
// net/http does), and none is needed: a HEAD response ends with its head.
const headUnknown = -2

// maxCachedType bounds the Content-Type values headPrefix keeps.
const maxCachedType = 128

// appendHeadEnd appends the Connection line when needed, the handler's fields and the blank
// line that ends the head.
func (e *engine) appendHeadEnd(c *Ctx, out []byte) []byte {
	if !c.keepAlive {
		out = append(out, connCloseLine...)
	} else if c.h.minor == 0 {
		out = append(out, connKeepLine...)
	} else if c.status == http.StatusSwitchingProtocols && c.upgrade != nil {
		out = append(out, connUpgradeLine...)
	}
	out = append(out, c.hdr...)
	return append(out, crlf...)
}

// appendChunk appends b as one chunk of a chunked body.
func appendChunk(out, b []byte) []byte {
	if len(b) == 0 {
		return out
	}
	out = strconv.AppendInt(out, int64(len(b)), 16)
	out = append(out, crlf...)
	out = append(out, b...)
	return append(out, crlf...)
}

// finishResponse appends the rest of the fast-path response after the handler returned.
func (e *engine) finishResponse(c *Ctx) {
	body := c.resp
	if c.useRef {
		body = c.ref
	}
	sendBody := bodyAllowed(c.status) && !c.isHead
	if !c.streaming {
		n := int64(len(body))
		if c.isHead && n == 0 {
			n = headUnknown
		}
		e.appendHead(c, n)
		if sendBody {
			e.out = append(e.out, body...)
		}
		return
	}
	if !sendBody {
		return
	}
	if c.chunkedOut {
		e.out = appendChunk(e.out, body)
		e.out = append(e.out, lastChunk...)
	} else {
		e.out = append(e.out, body...)
	}
}

// sharedDate is the Date field line for goroutines other than the loops (FromHTTP handlers):
// an immutable value swapped once a second. Safe from any goroutine.
type sharedDate struct {
	sec  int64
	line [len("Date: ") + len(http.TimeFormat) + 2]byte
}

// dateLine appends the current Date field line to b (safe from any goroutine).
func (cfg *config) dateLine(b []byte) []byte {
	now := time.Now()
	d := cfg.date.Load()
	if d == nil || d.sec != now.Unix() {
		d = &sharedDate{sec: now.Unix()}
		l := append(d.line[:0], "Date: "...)
		l = now.UTC().AppendFormat(l, http.TimeFormat)
		_ = append(l, crlf...)
		cfg.date.Store(d)
	}
	return append(b, d.line[:]...)
}
