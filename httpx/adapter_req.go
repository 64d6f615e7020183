package httpx

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// asyncReq is one FromHTTP request in flight. Fields marked "loop" are touched only on the
// connection's loop; the handler goroutine talks to the loop only through transport.execute.
type asyncReq struct {
	e *engine // loop
	// t is the connection's transport (immutable): the handler goroutine reaches the loop
	// through it, never through e.t, which is another connection's (or nil) once the request
	// is done and the engine went back to the loop.
	t transport
	a *Adapter
	// ended: the handler returned; the ResponseWriter refuses further use (its buffers go
	// back to the loop for other requests, its engine may serve another connection).
	ended atomic.Bool
	req   *http.Request // built on the loop, then owned by the handler goroutine
	pipe  *bodyPipe     // nil when the request has no body
	ctx   reqCtx        // the Request's Context
	// ack carries the loop's answer to a non-final deliver (nil: queued and the send queue is
	// short). Made by the handler goroutine before its first non-final deliver (ackChan); sent
	// to and closed only on the loop: closed by connGone, after which nothing is sent. ack and
	// ackClosed are guarded by ctx.mu.
	ack       chan error
	ackClosed bool

	clRem       int64 // loop: Content-Length bytes not yet received
	bodyPaused  bool  // loop: reading paused because the pipe is full
	respStarted bool  // loop: response bytes were queued
	sawBody     bool  // loop: a byte of the body arrived (chunk framing included)
	gone        bool  // loop: the connection is closed
	holding     bool  // loop: the handler returned; its response waits for the body's end
	held        []byte
	heldClose   bool
	heldSkip    int64 // loop: chunked body bytes discarded while holding (bounded by maxHeldBody)
	heldSent    bool  // loop: holding, with the whole response sent already (held is nil)
	bodyErr     int   // loop: the body was malformed (its error status), 0 if not
	expect100   bool  // immutable
	// mayHold (immutable): the loop may hold the final response until the body ends (see
	// holdable), so a handler returning before the body is complete does not need to close.
	mayHold   bool
	noHold    bool // the handler closed the body early: its response goes out at once (flush)
	keepAlive bool // immutable: the request allows another on this connection
	hijacked  bool // loop: the handler hijacked the connection (see hijack)
	// aborted: the handler panicked (or ended its goroutine); set
	// before the final delivery, which then closes the connection at once (no hold).
	aborted bool
	// resetEnd: the handler panicked in a response whose body ends at the close (HTTP/1.0,
	// no length), part of it sent: the final delivery resets the connection, as a graceful
	// close would end that body as if complete (set with aborted).
	resetEnd bool
	// Handler goroutine: it was started by Loop.GoTask (admitInline), and it left the pool's
	// count when it hijacked (pool.detach).
	inline, detached bool
	// Deadlines the handler set through http.ResponseController, in place of the Server's
	// ReadTimeout and WriteTimeout for this request (the zero time: none). Set on the handler
	// goroutine and read by the loop when it writes or changes phase, so a deadline set right
	// before the handler returns covers the final bytes: guarded by ctx.mu, and dlSet tells the
	// loop whether to look at all.
	dlSet                 atomic.Bool
	readDL, writeDL       time.Time
	readDLSet, writeDLSet bool

	w responseWriter // the handler goroutine's (see handle)
	// The final delivery of the response, set by the handler goroutine once the handler is done
	// (setFinal), run on the loop (deliverFinal).
	fin      []byte
	finClose bool
	finSet   bool
	parts    reqParts // the Request's URL and Header value slices (buildRequest)
	// Spares from the loop (see loopCache): a response buffer for the handler goroutine, and
	// the buffer of the final response for the loop to take back.
	raw      []byte
	lines    []byte
	finalRaw []byte
}

// errors the handler sees from Request.Body.
var (
	errBadBody    = errors.New("httpx: malformed request body")
	errBodyLimit  = errors.New("httpx: request body too large")
	errClientGone = errors.New("httpx: client disconnected")
	// errHandlerReturned: the ResponseWriter was used after its handler returned.
	errHandlerReturned = errors.New("httpx: ResponseWriter used after the handler returned")
)

// adapterConn is the per-connection state of FromHTTP, made at the connection's first request
// (loop only).
type adapterConn struct {
	remote string          // Request.RemoteAddr
	base   context.Context // the adapter's base context with http.LocalAddrContextKey
	hj     *hijackConn     // set when a handler hijacked the connection (see Hijack)
}

// startAsync builds the *http.Request for the complete head in req and hands it to the pool
// (loop only).
func (e *engine) startAsync(req []byte) {
	a := e.cfg.adapter
	h := &e.head
	ac := e.ac
	if ac == nil {
		ac = &adapterConn{remote: addrString(e.t.remoteAddr())}
		ac.base = context.WithValue(a.baseContext(), http.LocalAddrContextKey, e.t.localAddr())
		e.ac = ac
	}
	ar := &asyncReq{e: e, t: e.t, a: a, expect100: h.expect100,
		mayHold: !h.expect100 && (h.chunked || h.contentLen <= maxHeldBody)}
	// The template is filled, then copied by WithContext: one allocation for the Request.
	r := e.tmpl
	if r == nil {
		r = new(http.Request)
	}
	if !buildRequest(r, req, h, ac.remote, &ar.parts, &e.lc.lastParts) {
		*r = http.Request{}
		e.reject(400)
		return
	}
	ar.ctx.init(ac.base)
	if h.hasBody() {
		ar.pipe = newBodyPipe(ar, a.bodyBuffer)
		r.Body = ar.pipe
		ar.clRem = h.contentLen
		e.state = stAsyncBody
	} else {
		r.Body = http.NoBody
		e.state = stAsyncWait
	}
	ar.req = r.WithContext(&ar.ctx)
	*r = http.Request{} // keep nothing of this request in the template
	ar.keepAlive = h.keepAliveAfter() && !e.draining()
	ar.raw, ar.lines = e.lc.takeSpares()
	// On a parked loop the handler runs on the loop goroutine itself (Loop.GoTask): no hand-off to a
	// pool goroutine and back; if it blocks, the loop moves to another goroutine. Counted
	// against the pool's bound like a worker.
	if s, ok := e.t.(interface{ spawn(reactor.Task) bool }); ok && e.cfg.pool.admitInline() {
		ar.inline = true
		if s.spawn(ar) {
			e.async = ar
			e.cancelIfEOF(ar)
			return
		}
		ar.inline = false
		e.cfg.pool.inlineDone()
	}
	if !e.cfg.pool.submit(ar) {
		ar.cancel()
		e.reject(503)
		return
	}
	e.async = ar
	e.cancelIfEOF(ar)
	if y, ok := e.t.(interface{ yieldSoon() }); ok {
		y.yieldSoon()
	}
}

// cancelIfEOF cancels the Context of a request that starts after the client's EOF (a
// pipelined request served from carry), as readEOF does for the one running when it came; as
// there, a request with a body is cancelled once the handler has read it or closed it.
func (e *engine) cancelIfEOF(ar *asyncReq) {
	if e.eof && (ar.pipe == nil || !ar.pipe.cancelAtEnd()) {
		ar.cancel()
	}
}

// Interned request strings: the common values cost no allocation.
var (
	commonMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"}
	commonFields  = []string{"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Referer", "Authorization",
		"Cache-Control", "Origin", "Pragma", "If-None-Match", "If-Modified-Since", "Upgrade",
		"Transfer-Encoding", "Expect", "Trailer", "Te", "Range", "X-Forwarded-For",
		"X-Requested-With", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest", "Upgrade-Insecure-Requests"}
)

func internMethod(b []byte) string {
	for _, m := range commonMethods {
		if string(b) == m {
			return m
		}
	}
	return string(b)
}

// fieldKey returns the canonical form of a field name, without allocating for common ones.
func fieldKey(b []byte) string {
	for _, k := range commonFields {
		if len(k) == len(b) && eqFoldString(b, k) {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(string(b))
}

// simplePath reports whether p needs no unescaping and would be kept as is by url.Parse, so a
// url.URL can be built without parsing.
func simplePath(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// buildRequest fills r from the parsed head. The strings are copies (the handler keeps them);
// the field values share one string and the value slices one array.
func buildRequest(r *http.Request, req []byte, h *reqHead, remote string, parts *reqParts, last *string) bool {
	// One string holds the target and every field value (one allocation, none when it equals
	// the loop's last one, *last: strings are immutable, so requests may share it); parts
	// holds the URL and (for up to four fields) the value slices.
	n := len(h.fields)
	size := h.target.len()
	for _, f := range h.fields {
		size += f.value.len()
	}
	var all string
	if last != nil && sameParts(*last, req, h, size) {
		all = *last
	} else {
		var sb strings.Builder
		sb.Grow(size)
		sb.Write(h.target.get(req))
		for _, f := range h.fields {
			sb.Write(f.value.get(req))
		}
		all = sb.String()
		if last != nil {
			*last = all
		}
	}
	target := all[:h.target.len()]
	var u *url.URL
	switch {
	case h.form == formAsterisk:
		u = &parts.url
		u.Path = "*"
	case h.form == formOrigin && simpleTarget(target):
		u = &parts.url
		u.Path = target
		if i := strings.IndexByte(target, '?'); i >= 0 {
			u.Path, u.RawQuery = target[:i], target[i+1:]
			u.ForceQuery = u.RawQuery == ""
		}
	default:
		var err error
		if u, err = url.ParseRequestURI(target); err != nil {
			return false
		}
	}
	// As net/http's server does, Host goes to Request.Host and not into the Header map, nor do
	// Transfer-Encoding and Trailer when the body is chunked (Request.TransferEncoding and
	// Request.Trailer), and a repeated identical Content-Length is one value (differing ones
	// were refused by the parser).
	nh := n
	if h.hostCount > 0 {
		nh--
	}
	hdr := make(http.Header, nh)
	var host string
	var trailers []string
	if n > 0 {
		vals := parts.vals[:]
		if n > len(vals) {
			vals = make([]string, n)
		}
		off := len(target)
		for i, f := range h.fields {
			k := fieldKey(f.name.get(req))
			v := all[off : off+f.value.len()]
			off += f.value.len()
			switch {
			case k == "Host": // any case: fieldKey interns it
				host = v
				continue
			case k == "Transfer-Encoding" && h.chunked:
				continue
			case k == "Trailer" && h.chunked:
				trailers = append(trailers, v)
				continue
			}
			if old, ok := hdr[k]; ok {
				if k != "Content-Length" { // a repeat is identical (the parser refused others)
					hdr[k] = append(old, v)
				}
				continue
			}
			vals[i] = v
			hdr[k] = vals[i : i+1 : i+1]
		}
		// HTTP/1.0 caches: "Pragma: no-cache" stands for "Cache-Control: no-cache" when the
		// latter is absent (RFC 9111 5.4), as net/http presents it.
		if p := hdr["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
			if _, ok := hdr["Cache-Control"]; !ok {
				hdr["Cache-Control"] = []string{"no-cache"}
			}
		}
	}
	*r = http.Request{
		Method:     internMethod(h.method.get(req)),
		URL:        u,
		Proto:      protoNames[h.wireMinor],
		ProtoMajor: 1,
		ProtoMinor: int(h.wireMinor),
		Header:     hdr,
		Host:       host,
		RequestURI: target,
		RemoteAddr: remote,
		Close:      !h.keepAliveAfter(),
	}
	if h.form == formAbsolute {
		r.Host = string(h.authority.get(req)) // the target's authority wins over Host
	}
	switch {
	case h.chunked:
		r.ContentLength = -1
		r.TransferEncoding = []string{"chunked"}
		var ok bool
		if r.Trailer, ok = declaredTrailers(trailers); !ok {
			return false
		}
	case h.contentLen > 0:
		r.ContentLength = h.contentLen
	}
	return true
}

// sameParts reports whether s is the target and the field values of the head h in req, one
// after another (size bytes in all), as buildRequest joins them.
func sameParts(s string, req []byte, h *reqHead, size int) bool {
	if len(s) != size {
		return false
	}
	t := h.target.get(req)
	if string(t) != s[:len(t)] {
		return false
	}
	off := len(t)
	for _, f := range h.fields {
		v := f.value.get(req)
		if string(v) != s[off:off+len(v)] {
			return false
		}
		off += len(v)
	}
	return true
}

// protoNames are the Request.Proto values of HTTP/1.0 to HTTP/1.9 (as received, as net/http
// presents them; 1.2 and later are answered as 1.1).
var protoNames = [10]string{"HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/1.3", "HTTP/1.4",
	"HTTP/1.5", "HTTP/1.6", "HTTP/1.7", "HTTP/1.8", "HTTP/1.9"}

// reqParts is the part of a Request that buildRequest fills in place: the URL and the Header's
// value slices.
type reqParts struct {
	url  url.URL
	vals [4]string
}

// simpleTarget reports whether an origin-form target is a simple path with an optional query
// whose url.ParseRequestURI result is Path and RawQuery as written.
func simpleTarget(t string) bool {
	p := t
	if i := strings.IndexByte(t, '?'); i >= 0 {
		p = t[:i]
		if strings.IndexByte(t[i+1:], '#') >= 0 {
			return false
		}
	}
	return simplePath(p)
}

// declaredTrailers returns the Trailer map announced by the values of the "Trailer" fields
// (values nil until the body has been read), or nil; false if one names a field that frames
// the message (Content-Length, Transfer-Encoding, Trailer), which net/http refuses with 400.
func declaredTrailers(fields []string) (http.Header, bool) {
	var t http.Header
	for _, v := range fields {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				k = textproto.CanonicalMIMEHeaderKey(k)
				if k == "Content-Length" || k == "Transfer-Encoding" || k == "Trailer" {
					return nil, false
				}
				if t == nil {
					t = make(http.Header)
				}
				t[k] = nil
			}
		}
	}
	return t, true
}

// asyncBody moves body bytes of the in-flight request from req into its pipe (loop only).
// It returns statusNeedMore, statusChunkDone (body complete, e.bodyPos at its end) or an error
// status (the pipe was failed).
func (e *engine) asyncBody(req []byte) int {
	ar := e.async
	if ar == nil {
		// The request was refused (503) before it started; nothing to do.
		return statusNeedMore
	}
	if ar.bodyPaused {
		return statusNeedMore
	}
	if len(req) > e.bodyPos {
		ar.sawBody = true // the client is not waiting for 100 Continue (see owesContinue)
	}
	if !e.head.chunked {
		n := min(int64(len(req)-e.bodyPos), ar.clRem)
		if n > 0 {
			full := ar.pipe.push(req[e.bodyPos:e.bodyPos+int(n)], ar.clRem-n)
			e.bodyPos += int(n)
			ar.clRem -= n
			if ar.clRem == 0 {
				ar.pipe.finish(nil, nil)
				return statusChunkDone
			}
			if full {
				ar.pauseBody()
			}
		}
		return statusNeedMore
	}
	for {
		np, data, st := e.chunk.next(req, e.bodyPos, &e.cfg.lim)
		e.bodyPos = np
		full := false
		if len(data) > 0 {
			full = ar.pipe.push(data, -1)
			if ar.holding {
				// As net/http, discard at most maxHeldBody of a body the handler left
				// unread, then send its response and close: a client streaming a long
				// body and waiting for the answer must get it.
				if ar.heldSkip += int64(len(data)); ar.heldSkip > maxHeldBody {
					ar.heldClose = true
					return statusHeldTooLong
				}
			}
		}
		switch st {
		case statusOK:
			if full {
				ar.pauseBody()
				return statusNeedMore
			}
			continue
		case statusNeedMore:
			if full {
				ar.pauseBody()
			}
			return st
		case statusChunkDone:
			ar.pipe.finish(trailerHeader(req, e.chunk.trailers), nil)
			return st
		default:
			err := errBadBody
			if st == 413 {
				err = errBodyLimit
			}
			ar.bodyErr = st
			ar.pipe.finish(nil, err)
			return st
		}
	}
}

func trailerHeader(req []byte, fields []hfield) http.Header {
	if len(fields) == 0 {
		return nil
	}
	t := make(http.Header, len(fields))
	for _, f := range fields {
		k := textproto.CanonicalMIMEHeaderKey(string(f.name.get(req)))
		t[k] = append(t[k], string(f.value.get(req)))
	}
	return t
}

// pauseBody stops reading from the connection until the handler drained the pipe (loop only).
func (ar *asyncReq) pauseBody() {
	ar.bodyPaused = true
	ar.e.t.pauseReading()
}

// resumeBody runs on the loop when the handler has read the pipe down.
func (ar *asyncReq) resumeBody() {
	e := ar.e
	if ar.gone || e.async != ar || !ar.bodyPaused {
		return
	}
	ar.bodyPaused = false
	if !e.holdPaused {
		e.t.resumeReading()
	}
	if len(e.carry) > 0 {
		e.processCarry()
	}
	e.flushOut()
}

// sendContinue runs on the loop when the handler first reads a body sent with
// "Expect: 100-continue".
func (ar *asyncReq) sendContinue() {
	e := ar.e
	if ar.gone || e.async != ar || ar.respStarted || e.sentCnt || e.state != stAsyncBody {
		return
	}
	e.sentCnt = true
	e.out = append(e.out, continueResponse...)
	e.flushOut()
}

// deliverInterim runs on the loop with a 1xx interim response from the handler goroutine: it
// goes out at once and does not start the final response (a 100 Continue still goes out when
// the handler reads the body, as net/http sends it after a 103, unless this was the handler's
// own 100). Then ar.ack gets nil as in deliver.
func (ar *asyncReq) deliverInterim(b []byte, code int) {
	e := ar.e
	if ar.hijacked || ar.gone {
		return
	}
	if e.async != ar {
		// A stray writer after its request ended (a 1xx racing with the handler's return),
		// as in deliver: the engine may serve another request, or connection, by now.
		ar.ack <- errHandlerReturned
		return
	}
	if code == http.StatusContinue {
		e.sentCnt = true
	}
	e.out = append(e.out, b...)
	e.flushOut()
	ar.ackWhenDrained()
}

// deliver runs on the loop with response bytes from the handler goroutine. final marks the end
// of the response; closeAfter asks to close the connection after it. With wantAck, ar.ack gets
// nil once the bytes are queued and the send queue is short (if the client goes away first, it
// is closed instead).
func (ar *asyncReq) deliver(b []byte, final, closeAfter, wantAck bool) {
	e := ar.e
	if ar.hijacked {
		// The handler returned (it cannot write through the ResponseWriter any more, and it
		// cancelled the Context): the request ends; the connection is the hijacker's.
		if final && e.async == ar {
			if !ar.gone {
				ar.recycle()
			}
			e.async = nil
		}
		return
	}
	if ar.gone {
		return
	}
	if !final && e.async != ar {
		// A stray writer after its request ended: the engine may serve another request now.
		if wantAck {
			ar.ack <- errHandlerReturned
		}
		return
	}
	if final && ar.bodyErr != 0 {
		// The body was malformed: whatever the handler answered, the client gets the error
		// (unless the response had started), and the connection ends: the bytes after a bad
		// body are not a request.
		if !ar.respStarted {
			e.lc.update(time.Now()) // a task, not OnData: the cached Date is the last input's
			b = appendErrorResponse(nil, ar.bodyErr, e.lc, false)
		}
		closeAfter = true
	} else if final && !ar.aborted && ar.holdable() {
		// The handler returned before its body ended: hold the response until the body has
		// arrived and been validated, so a malformed or cut-off body gets a 400, never the
		// handler's 2xx (see Adapter). releaseHeld sends it.
		ar.holding, ar.held, ar.heldClose = true, b, closeAfter
		ar.cancel()
		e.flushOut()
		return
	} else if final && !ar.aborted && ar.respStarted && e.state == stAsyncBody && ar.restDiscardable() {
		// The response went out in part (flushed) and its handler returned before its body
		// ended: the response's end goes out now, and the rest of the body is read and
		// discarded before the next request, as net/http does after its handler, instead of
		// ending a connection the response did not say it would end. (A malformed rest
		// closes it; releaseHeld.)
		e.out = append(e.out, b...)
		ar.recycle()
		ar.holding, ar.held, ar.heldClose, ar.heldSent = true, nil, closeAfter, true
		ar.cancel()
		e.flushOut()
		return
	}
	if len(b) > 0 {
		started := !ar.respStarted && !final
		ar.respStarted = true
		e.out = append(e.out, b...)
		if started {
			ar.responseStarted()
		}
	}
	if final {
		ar.recycle()
		ar.done(closeAfter)
		if ar.resetEnd {
			e.t.abort()
		}
	} else {
		e.flushOut()
	}
	if wantAck {
		ar.ackWhenDrained()
	}
}

// responseStarted runs when the first bytes of a response go out while its body is still
// arriving (loop only). net/http reads up to 256 KiB of a body its handler left unread before it
// sends the response header (golang/go#15527): a client that sends its whole request before it
// reads the response would otherwise wait on a paused connection while the handler waits for
// it to read. FromHTTP handlers may still read the body after writing (full duplex), so the body
// is not discarded: the pipe takes up to maxHeldBody more before reading pauses again.
func (ar *asyncReq) responseStarted() {
	e := ar.e
	if ar.pipe == nil || e.state != stAsyncBody || !e.head.chunked && ar.clRem > maxHeldBody {
		return
	}
	ar.pipe.mu.Lock()
	ar.pipe.extra = maxHeldBody
	ar.pipe.mu.Unlock()
	if ar.bodyPaused {
		ar.resumeBody()
	}
}

// recycle gives the loop back the response buffers once the handler has returned and the
// response was copied out (loop only). The header map is not reused: a goroutine of the handler
// may still hold it (net/http gives every response its own map), and it would then write into
// another connection's response.
func (ar *asyncReq) recycle() {
	// ar.raw and ar.lines were given to the handler goroutine but not used.
	ar.e.lc.putSpares([2][]byte{ar.finalRaw, ar.raw}, [2][]byte{ar.w.lines, ar.lines})
	// The header map stays: a goroutine of the handler that sets a field after the response
	// went out must not crash on a nil map (net/http's map stays too); nothing reads it.
	ar.finalRaw, ar.raw, ar.lines, ar.w.lines = nil, nil, nil, nil
}

// setFinal records the final delivery of the response (b, then closeAfter) for the loop
// (handler goroutine).
func (ar *asyncReq) setFinal(b []byte, closeAfter bool) {
	ar.fin, ar.finClose, ar.finSet = b, closeAfter, true
}

// deliverFinal runs the final delivery setFinal recorded (loop only).
func (ar *asyncReq) deliverFinal() {
	b := ar.fin
	ar.fin, ar.finSet = nil, false
	ar.deliver(b, true, ar.finClose, false)
}

// maxHeldBody bounds the body bytes still to come for which a finished handler's response is
// held (see holdable).
const maxHeldBody = 256 << 10

// withConnClose returns the response resp (head and body) with "Connection: close" in its head,
// in place of "Connection: keep-alive" if it has that: a held response that now ends its
// connection says so, as net/http does (loop only; rare).
func withConnClose(resp []byte) []byte {
	end := bytes.Index(resp, []byte("\r\n\r\n"))
	if end < 0 {
		return resp
	}
	head := resp[:end+2] // lines after the status line each follow a CRLF
	if bytes.Contains(head, []byte(crlf+connCloseLine)) {
		return resp
	}
	out := make([]byte, 0, len(resp)+len(connCloseLine))
	if i := bytes.Index(head, []byte(crlf+connKeepLine)); i >= 0 {
		i += len(crlf)
		out = append(out, resp[:i]...)
		out = append(out, connCloseLine...)
		return append(out, resp[i+len(connKeepLine):]...)
	}
	out = append(out, head...)
	out = append(out, connCloseLine...)
	return append(out, resp[end+2:]...)
}

// statusHeldTooLong is asyncBody's answer when a held response's chunked body went on past
// maxHeldBody: the response goes out and the connection closes (not an error status).
const statusHeldTooLong = -3

// holdable reports whether the final response of a handler that returned now is held until
// the body ends: nothing of the response was sent, the body is not complete, the client is not
// waiting for 100 Continue before sending it, and not much of it remains (loop only).
func (ar *asyncReq) holdable() bool {
	e := ar.e
	return e.state == stAsyncBody && !ar.respStarted && ar.mayHold && !ar.noHold
}

// restDiscardable reports whether the rest of the body of a request whose handler returned is
// read and discarded before the next request, as net/http does for up to 256 KiB still to come
// (loop only). Else the connection closes after the response.
func (ar *asyncReq) restDiscardable() bool {
	return !ar.expect100 && (ar.e.head.chunked || ar.clRem <= maxHeldBody)
}

// releaseHeld ends a held request once its body has ended (loop only): the handler's response
// goes out if the body was good, else an error response; then the connection closes or goes on
// (see done).
func (ar *asyncReq) releaseHeld() {
	e := ar.e
	ar.holding = false
	if ar.bodyErr != 0 {
		if !ar.heldSent {
			e.out = appendErrorResponse(e.out, ar.bodyErr, e.lc, false)
		}
		ar.done(true)
		return
	}
	ar.respStarted = true
	if ar.heldClose || e.draining() {
		// The connection closes after it (done), and the response may have been built for
		// keep-alive (Shutdown began, or the unread body went past maxHeldBody while it was
		// held): it says so (see Server.Shutdown).
		ar.held = withConnClose(ar.held)
	}
	e.out = append(e.out, ar.held...)
	ar.held = nil
	ar.done(ar.heldClose)
}

// respHighWater is the send-queue size above which a streaming handler's flush waits.
const respHighWater = 256 << 10

func (ar *asyncReq) ackWhenDrained() {
	if ar.gone {
		return // ack is closed
	}
	if ar.e.t.buffered() <= respHighWater {
		ar.ack <- nil
		return
	}
	// No give-up: a client that reads nothing must not get more queued for it (the write
	// deadline, a disconnect or Close ends the wait, which closes ack).
	ar.e.t.whenDrained(respHighWater, ar.ackWhenDrained)
}

// setDeadline records a deadline the handler set through http.ResponseController (handler
// goroutine); applyDeadlines applies it to what is queued already.
func (ar *asyncReq) setDeadline(t time.Time, write bool) {
	ar.ctx.mu.Lock()
	if write {
		ar.writeDL, ar.writeDLSet = t, true
	} else {
		ar.readDL, ar.readDLSet = t, true
	}
	ar.ctx.mu.Unlock()
	ar.dlSet.Store(true)
}

// deadlines returns the deadlines the handler set (any goroutine; no lock unless it set one).
func (ar *asyncReq) deadlines() (rd time.Time, rdSet bool, wd time.Time, wdSet bool) {
	if !ar.dlSet.Load() {
		return
	}
	ar.ctx.mu.Lock()
	defer ar.ctx.mu.Unlock()
	return ar.readDL, ar.readDLSet, ar.writeDL, ar.writeDLSet
}

// applyDeadlines applies the handler's deadlines now, while its request is current (loop only;
// later writes and phase changes of the request look them up themselves).
func (ar *asyncReq) applyDeadlines() {
	e := ar.e
	if ar.gone || e.async != ar || ar.hijacked {
		return
	}
	if d, ok := e.t.(interface{ requestDeadlines(*asyncReq) }); ok {
		d.requestDeadlines(ar)
	}
}

// cancel cancels the request's Context (safe from any goroutine).
func (ar *asyncReq) cancel() { ar.ctx.cancel(nil) }

// ackChan returns the channel on which the loop answers non-final delivers, making it on first
// use, or nil when the connection is already gone (handler goroutine).
func (ar *asyncReq) ackChan() chan error {
	ar.ctx.mu.Lock()
	defer ar.ctx.mu.Unlock()
	if ar.ackClosed {
		return nil
	}
	if ar.ack == nil {
		ar.ack = make(chan error, 1)
	}
	return ar.ack
}

// done finishes the request on the loop: the response is complete.
func (ar *asyncReq) done(closeAfter bool) {
	e := ar.e
	if ar.dlSet.Load() {
		// The response's last bytes go out under its handler's write deadline (the transport
		// looks at e.async), before the next request starts.
		e.writeOut()
	}
	e.async = nil
	ar.cancel()
	if closeAfter || e.draining() || e.state != stAsyncWait {
		// Unread body (state still stAsyncBody) or a response that must end the connection.
		e.closing = true
		e.flushOut()
		return
	}
	if len(e.carry) > 0 && e.t.writeBlocked() {
		// Pipelined requests and a client that does not read: the next request waits until
		// the output drained, as net/http reads a request only once it wrote the last
		// response (and as the fast path does, see process). Else every request in carry
		// was answered at once: 16 MiB queued for one connection in a test.
		// Drained means handed to the kernel, whose socket buffer still feeds the client
		// meanwhile; a mark above 0 could be above the Server's own water marks (then the
		// wait would end at once).
		e.state = stDrainWait
		e.flushOut()
		e.t.whenDrained(0, e.afterDrain)
		return
	}
	e.nextRequest()
}

// nextRequest goes on with the input after a FromHTTP request: reading resumes if the held
// input had paused it, and the requests already in carry are served (loop only).
func (e *engine) nextRequest() {
	e.state = stIdle
	if e.holdPaused {
		e.holdPaused = false
		e.t.resumeReading()
	}
	if len(e.carry) > 0 {
		e.processCarry()
	}
	e.flushOut()
}

// processCarry parses and serves the input held in carry from a task or callback on the loop
// rather than from OnData, which renews the loop's cached Date before it feeds input: an error
// response sent from here must not carry the Date of the last input read (loop only).
func (e *engine) processCarry() {
	e.lc.update(time.Now())
	e.process(e.carry, true, len(e.carry))
}

// afterDrain serves the pipelined requests that waited for the output to drain (see done;
// loop only).
func (e *engine) afterDrain() {
	if e.state != stDrainWait {
		return // closed meanwhile
	}
	if e.draining() {
		e.state = stIdle
		e.closing = true // Shutdown began: no more requests
		e.flushOut()
		return
	}
	e.nextRequest()
}

// connGone runs on the loop when the connection closed while the handler runs.
func (ar *asyncReq) connGone() {
	if ar.gone {
		return
	}
	ar.gone = true
	ar.ctx.mu.Lock()
	ar.ackClosed = true
	if ar.ack != nil {
		close(ar.ack)
	}
	ar.ctx.mu.Unlock()
	if !ar.hijacked { // a hijacker's Context lasts until its handler returns, as in net/http
		ar.cancel()
	}
	if ar.pipe != nil {
		ar.pipe.finish(nil, errClientGone)
	}
}
