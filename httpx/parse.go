package httpx

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// The request head parser (RFC 9112 sections 2 to 6). It is incremental by line: parseHead is
// called with the bytes of the current request received so far (always starting at the request
// line) and resumes at the first line it has not parsed yet, so a head that trickles in costs
// linear time. Everything it records is an offset into those bytes, so the bytes may move (the
// engine copies an unfinished request into its carry buffer) as long as the prefix is kept.
//
// Strictness: CRLF only (a bare CR or LF anywhere is an error), one SP between the request-line
// parts, token methods and field names, no whitespace before the colon, no obs-fold, no CTL in a
// field value, exactly one framing. Every rejection carries the status to answer with.

const (
	statusNeedMore = -1 // the head is not complete yet
	statusOK       = 0  // the head is complete and valid
)

// span is a half-open byte range [s, e) of the request buffer.
type span struct{ s, e int32 }

func (sp span) get(b []byte) []byte { return b[sp.s:sp.e] }
func (sp span) len() int            { return int(sp.e - sp.s) }
func (sp span) add(d int32) span    { return span{sp.s + d, sp.e + d} }

// hfield is one field line: name and value (OWS trimmed) as offsets into the request buffer.
type hfield struct{ name, value span }

// target forms (RFC 9112 section 3.2).
const (
	formOrigin   = iota // /path?query
	formAbsolute        // http://authority/path?query
	formAsterisk        // * (OPTIONS only)
)

// limits bounds what a request may hold. Zero values are replaced by defaults (see Server).
type limits struct {
	requestLine int   // bytes of the request-line without CRLF: 414 beyond
	headerBytes int   // bytes of the field section (and of a trailer section): 431 beyond
	headerCount int   // field lines (and trailer lines): 431 beyond
	body        int64 // decoded body bytes: 413 beyond
}

// transfer-coding bits seen across all Transfer-Encoding field lines.
const (
	teSeen       = 1 << iota
	teInvalid    // a list element that is not a bare token
	teUnknown    // a coding we do not know at all
	teOther      // a known coding other than chunked (gzip, deflate, compress, identity, ...)
	teChunkedNF  // chunked seen before another coding or twice
	teChunkedEnd // the last coding seen is chunked
)

// reqHead is the parsed request head. The zero value is ready for a new request (after reset).
type reqHead struct {
	headInfo
	fields []hfield

	memo *loopCache // the loop's last valid Host, or nil (kept across reset)
	slow bool       // tests only: parse every line on the general path (kept across reset)
}

// headInfo is what parsing a head records besides its fields: no pointers, so the loop's head
// cache copies it as plain memory.
type headInfo struct {
	pos    int // next unparsed line (offset into the request buffer)
	lineNo int // lines parsed so far (0: the request-line is next)

	method, target, path, query, authority span
	form                                   uint8
	minor                                  uint8 // HTTP/1.minor as answered (0 or 1)
	wireMinor                              uint8 // HTTP/1.minor as received (0-9; FromHTTP's Request.Proto)

	hdrSize int // bytes of the field section so far

	host       span
	hostCount  int
	clCount    int
	contentLen int64 // -1: no Content-Length
	te         uint8 // te* bits
	chunked    bool
	connClose  bool // Connection: close
	keepAlive  bool // Connection: keep-alive (matters for HTTP/1.0)
	expect100  bool // Expect: 100-continue (HTTP/1.1 only)
	expectBad  bool // an expectation other than 100-continue
	headLen    int  // bytes of the head including the final CRLF, once complete
	connectReq bool // CONNECT (authority-form)
}

func (h *reqHead) reset() {
	// Cleared in place: assigning a composite literal with values builds it on the stack and
	// copies it, and that copy's 16-byte loads of 8-byte stores just made stalled on store
	// forwarding (perf: a quarter of engine.process).
	h.headInfo = headInfo{}
	h.fields, h.contentLen = h.fields[:0], -1
}

// parseHead resumes parsing the head in b. It returns statusNeedMore, statusOK, or the HTTP
// status to reject the request with.
//
// A line that is complete and well-formed, the common case, is parsed in one pass by
// fastRequestLine or fastFieldLine. Anything else (an unfinished line, a bad byte, an over-long
// line) goes to the general path below, which decides what to answer; the fast paths apply the
// same checks in the same order, so they never change the outcome, only its cost.
func (h *reqHead) parseHead(b []byte, lim *limits) int {
	if h.pos == 0 && !h.slow && h.memo.sameHead(h, b, lim) {
		return statusOK
	}
	st := h.parseLines(b, lim)
	if st == statusOK {
		h.memo.keepHead(h, b, lim)
	}
	return st
}

// parseLines is parseHead without the loop's head cache.
func (h *reqHead) parseLines(b []byte, lim *limits) int {
	for {
		if h.slow {
			// Tests only: skip the fast paths to compare the two.
		} else if h.lineNo == 0 {
			p := h.pos
			if h.memo.sameRequestLine(h, b, lim) {
				continue
			}
			if st, ok := h.fastRequestLine(b, lim); ok {
				if st != statusOK {
					return st
				}
				h.memo.keepRequestLine(h, b[p:h.pos], int32(p))
				continue
			}
		} else {
			if p := h.pos; p+1 < len(b) && b[p] == '\r' && b[p+1] == '\n' {
				h.lineNo++
				h.pos = p + 2
				h.headLen = h.pos
				return h.finish(b, lim)
			}
			start := h.pos
			f, end, known := h.memo.sameHostLine(b, start)
			host := known
			if !host {
				f, end, host = fastHostLine(b, start)
			}
			ok := host
			if !ok {
				f, end, ok = fastFieldLine(b, start)
			}
			if ok {
				h.lineNo++
				h.hdrSize += end - start
				h.pos = end
				if h.hdrSize > lim.headerBytes || len(h.fields) >= lim.headerCount {
					return 431
				}
				h.fields = append(h.fields, f)
				st := statusOK
				switch {
				case known:
					h.hostCount++
					h.host = f.value
				case host:
					if st = h.hostField(b, f); st == statusOK {
						h.memo.keepHostLine(b[start:end], f.value, start)
					}
				default:
					st = h.knownField(b, f)
				}
				if st != statusOK {
					return st
				}
				continue
			}
		}
		rest := b[h.pos:]
		lf := bytes.IndexByte(rest, '\n')
		if lf < 0 {
			if cr := bytes.IndexByte(rest, '\r'); cr >= 0 && cr+1 < len(rest) {
				return 400 // a CR not followed by LF: no need to wait for the rest
			}
			if h.lineNo == 0 {
				if len(rest) > lim.requestLine+1 {
					return 414
				}
			} else if h.hdrSize+len(rest) > lim.headerBytes+1 {
				return 431
			}
			return statusNeedMore
		}
		if lf == 0 || rest[lf-1] != '\r' {
			return 400 // bare LF
		}
		line := rest[:lf-1]
		start := h.pos
		h.pos += lf + 1
		if h.lineNo == 0 {
			h.lineNo++
			if len(line) > lim.requestLine {
				return 414
			}
			if st := h.parseRequestLine(line, int32(start)); st != statusOK {
				return st
			}
			continue
		}
		h.lineNo++
		if len(line) == 0 {
			h.headLen = h.pos
			return h.finish(b, lim)
		}
		h.hdrSize += len(line) + 2
		if h.hdrSize > lim.headerBytes {
			return 431
		}
		if len(h.fields) >= lim.headerCount {
			return 431
		}
		f, st := parseFieldLine(line, int32(start))
		if st != statusOK {
			return st
		}
		h.fields = append(h.fields, f)
		if st := h.knownField(b, f); st != statusOK {
			return st
		}
	}
}

// fastFieldLine parses the field line at b[p:] when it is complete and well-formed: a token
// name, a colon, a value without CTLs, CRLF. It returns the field and the offset after the
// CRLF, or ok false for anything else (an HTAB in the value included), which the general path
// then handles.
func fastFieldLine(b []byte, p int) (f hfield, end int, ok bool) {
	i := p
	for i < len(b) && charClass[b[i]]&clsToken != 0 {
		i++
	}
	if i == p || i >= len(b) || b[i] != ':' {
		return hfield{}, 0, false
	}
	value, end, ok := fastValue(b, i+1)
	return hfield{name: span{int32(p), int32(i)}, value: value}, end, ok
}

// fastValue parses the rest of a field line after its colon, at b[j:]: OWS, a value without
// CTLs, OWS, CRLF. It returns the value's span and the offset after the CRLF, or ok false.
func fastValue(b []byte, j int) (value span, end int, ok bool) {
	for j < len(b) && isOWS(b[j]) {
		j++
	}
	k := j + ctlIndex(b[j:])
	// A CR (or any other CTL) stops the value; only CRLF ends a good line.
	if k+1 >= len(b) || b[k] != '\r' || b[k+1] != '\n' {
		return span{}, 0, false
	}
	e := k
	for e > j && isOWS(b[e-1]) {
		e--
	}
	return span{int32(j), int32(e)}, k + 2, true
}

// hostLine is "Host: " as the low six bytes of a little-endian word.
const hostLine = 0x0000_203a_7473_6f48

// fastHostLine is fastFieldLine for a line that starts "Host: " (the spelling of nearly every
// client), which needs no name scan and is known to be Host.
func fastHostLine(b []byte, p int) (f hfield, end int, ok bool) {
	if len(b)-p < 8 || binary.LittleEndian.Uint64(b[p:])&(1<<48-1) != hostLine {
		return hfield{}, 0, false
	}
	value, end, ok := fastValue(b, p+len("Host: "))
	return hfield{name: span{int32(p), int32(p + len("Host"))}, value: value}, end, ok
}

// SWAR (eight bytes in a word) scans. In each mask below, the lowest flagged byte is exact: a
// subtraction's borrow (an addition's carry) only runs upwards, from a byte that already
// matches, so bits.TrailingZeros64(mask)/8 is the index of the first matching byte.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// ctlIndex returns the index of the first byte of b below 0x20 or equal to 0x7f (a CTL; HTAB
// included), or len(b).
func ctlIndex(b []byte) int {
	n := 0
	for ; len(b)-n >= 8; n += 8 {
		x := binary.LittleEndian.Uint64(b[n:])
		d := x ^ 0x7f*ones
		if m := ((x-0x20*ones)&^x | (d-ones)&^d) & highs; m != 0 {
			return n + bits.TrailingZeros64(m)>>3
		}
	}
	for n < len(b) && b[n] >= 0x20 && b[n] != 0x7f {
		n++
	}
	return n
}

// targetEnd returns the index of the first byte of b that cannot be in a request-target (SP,
// a CTL, DEL or a byte above 0x7f), or len(b).
func targetEnd(b []byte) int {
	n := 0
	for ; len(b)-n >= 8; n += 8 {
		x := binary.LittleEndian.Uint64(b[n:])
		if m := ((x-0x21*ones)&^x | (x + ones) | x) & highs; m != 0 {
			return n + bits.TrailingZeros64(m)>>3
		}
	}
	for n < len(b) && b[n] > ' ' && b[n] < 0x7f {
		n++
	}
	return n
}

// version11Lo and version11Hi are " HTTP/1.1\r\n" as two little-endian loads: bytes 0..7 and 7..10.
// (These word constants are checked against their strings by TestWordConstants.)
const (
	version11Lo = 0x2e31_2f50_5454_4820
	version11Hi = 0x0a0d_312e
)

// methodGET is "GET " as a little-endian word.
const methodGET = 0x2054_4547

// fastRequestLine parses the request-line at b[h.pos:] when it is complete, within the limit,
// and reads `token SP target SP HTTP/1.1 CRLF` with a target of visible ASCII. It returns false,
// with h unchanged, for anything else (HTTP/1.0 included), which the general path handles.
func (h *reqHead) fastRequestLine(b []byte, lim *limits) (st int, ok bool) {
	p := h.pos
	i := p
	if len(b)-p >= 4 && binary.LittleEndian.Uint32(b[p:]) == methodGET {
		i = p + 3
	} else {
		for i < len(b) && charClass[b[i]]&clsToken != 0 {
			i++
		}
		if i == p || i >= len(b) || b[i] != ' ' {
			return 0, false
		}
	}
	j := i + 1 + targetEnd(b[i+1:])
	if j == i+1 || len(b)-j < len(" HTTP/1.1\r\n") {
		return 0, false
	}
	if v := b[j : j+len(" HTTP/1.1\r\n")]; binary.LittleEndian.Uint64(v) != version11Lo || binary.LittleEndian.Uint32(v[7:]) != version11Hi {
		return 0, false
	}
	end := j + len(" HTTP/1.1\r\n")
	if end-2-p > lim.requestLine {
		return 0, false
	}
	h.lineNo++
	h.pos = end
	h.method = span{int32(p), int32(i)}
	h.target = span{int32(i + 1), int32(j)}
	h.minor, h.wireMinor = 1, 1
	return h.parseTarget(b[i+1:j], int32(i+1), b[p:i]), true
}

// parseFieldLine parses `name ":" OWS value OWS` (RFC 9112 section 5). base is the offset of line
// in the request buffer.
func parseFieldLine(line []byte, base int32) (hfield, int) {
	i := 0
	for i < len(line) && charClass[line[i]]&clsToken != 0 {
		i++
	}
	// Empty name, whitespace before the colon (RFC 9112 5.1: MUST 400), obs-fold (a line that
	// starts with SP or HTAB, RFC 9112 5.2), any other non-tchar: 400.
	if i == 0 || i == len(line) || line[i] != ':' {
		return hfield{}, 400
	}
	name := span{base, base + int32(i)}
	j := i + 1
	for j < len(line) && isOWS(line[j]) {
		j++
	}
	k := len(line)
	for k > j && isOWS(line[k-1]) {
		k--
	}
	for _, c := range line[j:k] {
		if charClass[c]&clsFieldVal == 0 {
			return hfield{}, 400 // CTL (NUL, bare CR, ...) in a field value
		}
	}
	return hfield{name: name, value: span{base + int32(j), base + int32(k)}}, statusOK
}

// parseRequestLine parses `method SP request-target SP HTTP-version` (RFC 9112 section 3).
func (h *reqHead) parseRequestLine(line []byte, base int32) int {
	i := 0
	for i < len(line) && charClass[line[i]]&clsToken != 0 {
		i++
	}
	if i == 0 || i == len(line) || line[i] != ' ' {
		return 400
	}
	h.method = span{base, base + int32(i)}
	j := i + 1
	for j < len(line) && line[j] > ' ' && line[j] < 0x7f {
		j++
	}
	if j == i+1 || j == len(line) || line[j] != ' ' {
		return 400 // empty target, a second SP, a CTL or non-ASCII byte in the target
	}
	h.target = span{base + int32(i+1), base + int32(j)}
	v := line[j+1:]
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || !isDigit(v[5]) || !isDigit(v[7]) {
		return 400
	}
	if v[5] != '1' {
		return 505 // HTTP/0.x, HTTP/2.0 ...: a well-formed version we do not speak
	}
	h.wireMinor = v[7] - '0'
	if v[7] == '0' {
		h.minor = 0
	} else {
		h.minor = 1 // HTTP/1.2+ is answered as HTTP/1.1 (RFC 9110 section 2.5)
	}
	return h.parseTarget(line[i+1:j], base+int32(i+1), line[:i])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseTarget classifies and validates the request-target (RFC 9112 section 3.2).
func (h *reqHead) parseTarget(t []byte, base int32, method []byte) int {
	switch {
	case string(method) == "CONNECT":
		// A tunnel request meant for a proxy (authority-form, RFC 9112 3.2.3; any other form
		// is malformed): this server is an origin server.
		h.connectReq = true
		return 501
	case t[0] == '/':
		h.form = formOrigin
		return h.parsePathQuery(t, base)
	case len(t) == 1 && t[0] == '*':
		if string(method) != "OPTIONS" {
			return 400 // asterisk-form is only for OPTIONS (RFC 9112 3.2.4)
		}
		h.form = formAsterisk
		h.path = span{base, base + 1}
		h.query = span{base + 1, base + 1}
		return statusOK
	}
	// absolute-form: "http://" or "https://" authority path-abempty [ "?" query ].
	var n int
	switch {
	case len(t) >= 7 && eqFold(t[:7], "http://"):
		n = 7
	case len(t) >= 8 && eqFold(t[:8], "https://"):
		n = 8
	default:
		return 400
	}
	a := n
	for a < len(t) && t[a] != '/' && t[a] != '?' {
		a++
	}
	auth := t[n:a]
	if len(auth) == 0 || !validHost(auth) {
		return 400 // empty host or userinfo ('@'), which RFC 9110 4.2.4 says to treat as an error
	}
	h.form = formAbsolute
	h.authority = span{base + int32(n), base + int32(a)}
	return h.parsePathQuery(t[a:], base+int32(a))
}

// parsePathQuery validates path-abempty [ "?" query ] and records path and query (without '?').
func (h *reqHead) parsePathQuery(t []byte, base int32) int {
	i := 0
	for i < len(t) {
		c := t[i]
		if charClass[c]&clsPath != 0 { // neither '?' nor '%'
			i++
			continue
		}
		if c == '?' {
			break
		}
		if c != '%' {
			return 400 // '#', '"', '\\', '|', '{', ... are not allowed by RFC 3986
		}
		if i+2 >= len(t) || charClass[t[i+1]]&clsHex == 0 || charClass[t[i+2]]&clsHex == 0 {
			return 400
		}
		i += 3
	}
	h.path = span{base, base + int32(i)}
	if i == len(t) {
		h.query = span{base + int32(i), base + int32(i)}
		return statusOK
	}
	q := i + 1
	for j := q; j < len(t); j++ {
		c := t[j]
		if c == '%' {
			if j+2 >= len(t) || charClass[t[j+1]]&clsHex == 0 || charClass[t[j+2]]&clsHex == 0 {
				return 400
			}
			j += 2
			continue
		}
		if charClass[c]&clsQuery == 0 {
			return 400
		}
	}
	h.query = span{base + int32(q), base + int32(len(t))}
	return statusOK
}

// validHost checks `uri-host [ ":" port ]` (RFC 9110 section 7.2, RFC 3986 section 3.2.2).
// An empty value is valid (RFC 9110 7.2: a client sends an empty Host when the target has no
// authority).
func validHost(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	hostEnd := len(v)
	if v[0] == '[' {
		r := bytes.IndexByte(v, ']')
		if r < 2 {
			return false
		}
		for _, c := range v[1:r] {
			if charClass[c]&clsHex == 0 && c != ':' && c != '.' {
				return false // only IPv6 addresses (no IPvFuture)
			}
		}
		hostEnd = r + 1
		if hostEnd < len(v) && v[hostEnd] != ':' {
			return false
		}
	} else {
		// One pass: reg-name bytes up to the only colon allowed (a reg-name
		// has none), digits after it (checked below). Percent-encoded octets,
		// which RFC 3986 allows in a reg-name, are refused, as package net/url
		// does for a request target: "b%41" and "bA" name one host, and a
		// handler comparing Host with a name it allows or denies would see
		// two.
		for i, c := range v {
			if charClass[c]&clsRegName != 0 {
				continue
			}
			if c == ':' && hostEnd == len(v) {
				hostEnd = i
				continue
			}
			return false
		}
	}
	if hostEnd < len(v) {
		for _, c := range v[hostEnd+1:] {
			if !isDigit(c) {
				return false
			}
		}
	}
	return true
}

// hostValid reports validHost(v), remembering the last valid value in the loop's memo.
func (h *reqHead) hostValid(v []byte) bool {
	m := h.memo
	if m == nil {
		return validHost(v)
	}
	if sameBytes(m.host[:m.hostLen], v) {
		return true
	}
	if !validHost(v) {
		return false
	}
	if len(v) <= len(m.host) {
		m.hostLen = uint8(copy(m.host[:], v))
	}
	return true
}

// sameHostLine reports whether the line at b[p:] is the loop's last valid Host line (see
// loopCache.hostLine), and returns its field and the offset after it. A nil cache matches
// nothing.
func (m *loopCache) sameHostLine(b []byte, p int) (f hfield, end int, ok bool) {
	if m == nil {
		return hfield{}, 0, false
	}
	n := int(m.hostLineLen)
	if n == 0 || len(b)-p < n || !eqWords(b[p:p+n], m.hostLine[:n]) {
		return hfield{}, 0, false
	}
	v := span{int32(p) + int32(m.hostVal[0]), int32(p) + int32(m.hostVal[1])}
	return hfield{name: span{int32(p), int32(p + len("Host"))}, value: v}, p + n, true
}

// sameRequestLine reports whether the request line at b[h.pos:] is the loop's last one (see
// loopCache.reqLine), and if so records it in h as fastRequestLine would have. A nil cache
// matches nothing.
func (m *loopCache) sameRequestLine(h *reqHead, b []byte, lim *limits) bool {
	if m == nil {
		return false
	}
	p, n := h.pos, int(m.reqLineLen)
	// The kept line ends with its CRLF and has no CR or LF before it, so a prefix of b equal
	// to it is a whole line.
	if n == 0 || len(b)-p < n || n-2 > lim.requestLine || !eqWords(b[p:p+n], m.reqLine[:n]) {
		return false
	}
	base := int32(p)
	h.method, h.target = m.reqSpans[0].add(base), m.reqSpans[1].add(base)
	h.path, h.query = m.reqSpans[2].add(base), m.reqSpans[3].add(base)
	h.form, h.minor, h.wireMinor = formOrigin, 1, 1
	h.lineNo++
	h.pos = p + n
	return true
}

// sameHead reports whether b starts with the loop's last head (see loopCache.head), parsed
// under the same limits, and if so records it in h, which is fresh (reset), as parseHead would
// have. The parse is a function of the head's bytes and the limits alone, so equal bytes give
// an equal result. A nil cache matches nothing.
func (m *loopCache) sameHead(h *reqHead, b []byte, lim *limits) bool {
	if m == nil {
		return false
	}
	n := int(m.headLen)
	if n == 0 || len(b) < n || m.headLim != lim || string(b[:n]) != string(m.head[:n]) {
		return false
	}
	m.headStores = 0
	h.headInfo = m.headParsed
	k := int(m.headFieldN)
	if cap(h.fields) < k {
		h.fields = make([]hfield, 0, len(m.headFields))
	}
	h.fields = h.fields[:k]
	for i := range h.fields { // a few: cheaper than a call to memmove
		h.fields[i] = m.headFields[i]
	}
	return true
}

// keepHead remembers the head h just parsed from b under lim, when it fits and is not the one
// kept already. Where heads vary, copies that are never used would cost more than the cache
// saves: after headTries of them in a row it stops keeping heads for the next headRest ones.
func (m *loopCache) keepHead(h *reqHead, b []byte, lim *limits) {
	n := h.headLen
	if m == nil || n > len(m.head) || len(h.fields) > len(m.headFields) || h.slow {
		return
	}
	if m.headRest > 0 {
		m.headRest--
		return
	}
	if int(m.headLen) == n && m.headLim == lim && string(b[:n]) == string(m.head[:n]) {
		return
	}
	if m.headStores++; m.headStores >= headTries {
		m.headStores, m.headRest = 0, headRest
	}
	m.headLen = uint8(copy(m.head[:], b[:n]))
	m.headLim = lim
	m.headFieldN = uint8(copy(m.headFields[:], h.fields))
	m.headParsed = h.headInfo
}

// The loop's head cache backs off where heads vary (see keepHead).
const (
	headTries = 4
	headRest  = 60
)

// keepRequestLine remembers line, the request line fastRequestLine just recorded in h, which
// starts at offset base, when it is an origin-form one that fits.
func (m *loopCache) keepRequestLine(h *reqHead, line []byte, base int32) {
	if m == nil || h.form != formOrigin || len(line) > len(m.reqLine) || len(line) < 8 {
		return
	}
	m.reqLineLen = uint8(copy(m.reqLine[:], line))
	m.reqSpans = [4]span{h.method.add(-base), h.target.add(-base), h.path.add(-base), h.query.add(-base)}
}

// eqWords reports whether a and b, of the same length (8 or more), are equal, a word at a
// time (the last word overlapping the one before). Cheaper than a call to memequal for the
// short lines it compares.
func eqWords(a, b []byte) bool {
	n := len(a)
	if n != len(b) || n < 8 {
		return false
	}
	for i := 0; i < n-8; i += 8 {
		if binary.LittleEndian.Uint64(a[i:]) != binary.LittleEndian.Uint64(b[i:]) {
			return false
		}
	}
	return binary.LittleEndian.Uint64(a[n-8:]) == binary.LittleEndian.Uint64(b[n-8:])
}

// keepHostLine remembers line, a valid Host field line starting at offset p with its value at
// v, when it fits (nil cache: nothing).
func (m *loopCache) keepHostLine(line []byte, v span, p int) {
	if m == nil || len(line) > len(m.hostLine) || len(line) < 8 {
		return
	}
	m.hostLineLen = uint8(copy(m.hostLine[:], line))
	m.hostVal = [2]uint8{uint8(int(v.s) - p), uint8(int(v.e) - p)}
}

// hostName is "host" as a little-endian word.
const hostName = 0x7473_6f68

// hostField records a Host field line.
func (h *reqHead) hostField(b []byte, f hfield) int {
	h.hostCount++
	h.host = f.value
	if !h.hostValid(f.value.get(b)) {
		return 400 // RFC 9112 3.2: MUST 400 for an invalid Host
	}
	return statusOK
}

// knownField records the fields that change how the request is framed or answered.
func (h *reqHead) knownField(b []byte, f hfield) int {
	name := f.name.get(b)
	val := f.value.get(b)
	switch len(name) {
	case 4:
		// Field names are tokens (no CR), so OR-ing 0x20 into each byte lower-cases
		// exactly the upper-case letters: a word compare is eqFold(name, "host").
		if binary.LittleEndian.Uint32(name)|0x20202020 == hostName {
			return h.hostField(b, f)
		}
	case 6:
		if eqFold(name, "expect") {
			if eqFold(val, "100-continue") {
				h.expect100 = true
			} else {
				h.expectBad = true
			}
		}
	case 10:
		if eqFold(name, "connection") {
			h.connectionTokens(val)
		}
	case 14:
		if eqFold(name, "content-length") {
			n, ok := parseContentLength(val)
			if !ok {
				return 400
			}
			if h.clCount > 0 && n != h.contentLen {
				return 400 // differing Content-Length values (RFC 9112 6.3)
			}
			h.clCount++
			h.contentLen = n
		}
	case 17:
		if eqFold(name, "transfer-encoding") {
			h.transferCodings(val)
		}
	}
	return statusOK
}

// parseContentLength parses 1*DIGIT, refusing overflow. Lists ("5, 5") are rejected.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) || n > (maxInt64-9)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

const maxInt64 = 1<<63 - 1

func (h *reqHead) connectionTokens(v []byte) {
	for len(v) > 0 {
		c := bytes.IndexByte(v, ',')
		var tok []byte
		if c < 0 {
			tok, v = v, nil
		} else {
			tok, v = v[:c], v[c+1:]
		}
		tok = trimOWS(tok)
		switch {
		case eqFold(tok, "close"):
			h.connClose = true
		case eqFold(tok, "keep-alive"):
			h.keepAlive = true
		}
	}
}

// transferCodings folds one Transfer-Encoding field line into h.te.
func (h *reqHead) transferCodings(v []byte) {
	h.te |= teSeen
	coding := false
	for {
		c := bytes.IndexByte(v, ',')
		var tok []byte
		if c < 0 {
			tok = v
		} else {
			tok = v[:c]
		}
		tok = trimOWS(tok)
		// Empty list elements are ignored (RFC 9110 5.6.1), but a field line with no coding at
		// all is refused: a front end that reads only the first Transfer-Encoding line would
		// see none where the next line says chunked, and frame the body another way.
		if len(tok) > 0 {
			coding = true
			if h.te&teChunkedEnd != 0 {
				h.te |= teChunkedNF // something follows chunked
				h.te &^= teChunkedEnd
			}
			switch {
			case !isToken(tok):
				h.te |= teInvalid
			case eqFold(tok, "chunked"):
				h.te |= teChunkedEnd
			case eqFold(tok, "gzip"), eqFold(tok, "x-gzip"), eqFold(tok, "deflate"),
				eqFold(tok, "compress"), eqFold(tok, "x-compress"), eqFold(tok, "identity"):
				h.te |= teOther
			default:
				h.te |= teUnknown
			}
		}
		if c < 0 {
			if !coding {
				h.te |= teInvalid
			}
			return
		}
		v = v[c+1:]
	}
}

// finish applies the rules that need the whole head: Host, framing, expectations.
func (h *reqHead) finish(b []byte, lim *limits) int {
	if h.minor == 1 && h.hostCount != 1 {
		return 400 // RFC 9112 3.2: exactly one Host in HTTP/1.1
	}
	if h.hostCount > 1 {
		return 400
	}
	if h.te&teSeen != 0 {
		switch {
		case h.minor == 0:
			return 400 // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing
		case h.clCount > 0:
			return 400 // RFC 9112 6.1: both framings; we reject rather than guess
		case h.te&teInvalid != 0:
			return 400
		case h.te&teUnknown != 0:
			return 501 // RFC 9112 6.1: a transfer coding we do not understand
		case h.te&teChunkedEnd == 0 || h.te&teChunkedNF != 0:
			return 400 // RFC 9112 6.3: chunked is not the final coding (or applied twice)
		case h.te&teOther != 0:
			return 501 // a known coding we do not implement (gzip, deflate, ...)
		}
		h.chunked = true
	}
	if h.contentLen > lim.body {
		return 413
	}
	if h.expectBad && h.minor == 1 {
		return 417
	}
	if h.minor == 0 {
		h.expect100 = false // RFC 9110 10.1.1: ignore 100-continue from HTTP/1.0
	}
	_ = b
	return statusOK
}

// hasBody reports whether a body follows the head.
func (h *reqHead) hasBody() bool { return h.chunked || h.contentLen > 0 }

// keepAliveAfter reports whether the connection may carry another request after this one.
func (h *reqHead) keepAliveAfter() bool {
	if h.connClose {
		return false
	}
	if h.minor == 0 {
		return h.keepAlive
	}
	return true
}
