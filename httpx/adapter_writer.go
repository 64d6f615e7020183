package httpx

import (
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// responseWriter is the http.ResponseWriter of FromHTTP requests; it lives on the handler
// goroutine and sends bytes to the loop through asyncReq.deliver.
type responseWriter struct {
	ar        *asyncReq
	req       *http.Request
	keepAlive bool // the request allows another one on this connection
	isHead    bool
	// fullDuplex: the handler called EnableFullDuplex (it reads its body after writing), so a
	// response that starts with much of the body to come does not announce a close (net/http).
	fullDuplex bool

	header      http.Header
	status      int
	wroteHeader bool  // WriteHeader was called (the header is frozen)
	headerSent  bool  // the header bytes were handed to the loop
	chunked     bool  // the body is sent chunked
	closeDelim  bool  // the body ends when the connection closes (HTTP/1.0, no length)
	declared    int64 // Content-Length set by the handler, or -1
	overran     bool  // a Write went past declared: every later one fails
	hasTE       bool  // the handler set a Transfer-Encoding: no Content-Length is computed (net/http)
	teSet       bool  // hasTE, other than identity: the handler's Content-Length frames nothing either
	written     int64 // body bytes accepted by Write
	trailers    []string
	closeAfter  bool
	failed      error  // the client is gone: further writes fail
	raw         []byte // headRoom bytes kept free for the header, then the buffered body
	bufferLimit int
	// The handler's fields as they were at WriteHeader (net/http: later changes to the map have
	// no effect, trailers aside): rendered header lines, whether Date was among them, and
	// whether the body's type is not to be sniffed (Content-Type set, or, as net/http has it, a
	// Transfer-Encoding set by the handler).
	lines            []byte
	hasDate, noSniff bool
	// hasTrailers: the fields at WriteHeader announced trailers (a Trailer field, even empty,
	// or a key by http.TrailerPrefix), so the body is chunked to carry them (net/http decides
	// it on the same snapshot). Keys by TrailerPrefix added later also make a response whose
	// header is not out yet chunked (lateTrailers), where net/http sends them only if its
	// 2 KiB buffer had made it chunked already.
	hasTrailers bool
}

var (
	_ http.Flusher  = (*responseWriter)(nil)
	_ http.Hijacker = (*responseWriter)(nil)
)

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; 1xx codes other than 101 are sent at once.
// 101 (Switching Protocols) is meant to be followed by Hijack.
func (w *responseWriter) WriteHeader(code int) {
	if w.ar.ended.Load() || w.wroteHeader || w.failed != nil {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code < 200 {
		if w.req.ProtoMinor == 0 && code != 101 {
			return // no interim 1xx to HTTP/1.0 (RFC 9110 15.2); a 101 goes out, as in net/http
		}
		if code != 101 {
			// An interim response goes out at once (like net/http since Go 1.19).
			b := append(statusLineFor(nil, code), w.headerLines(nil)...)
			w.sendPart(append(b, crlf...), code)
			return
		}
		// 101 is the final header, as in net/http: it goes out at Hijack (the upgrade), or
		// when the handler returns, and then the connection closes (the client has switched
		// protocols; HTTP cannot go on).
		w.closeAfter = true
	}
	w.wroteHeader = true
	w.status = code
	w.declared = -1
	// Canonical keys are looked up directly, as net/http does: a field set through Header().Set
	// or Add is stored under its canonical key.
	if cl := w.header["Content-Length"]; len(cl) > 0 && cl[0] != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(cl[0]), 10, 64); err == nil && n >= 0 {
			w.declared = n
		}
	}
	vs, announced := w.header["Trailer"]
	w.hasTrailers = announced
	for _, v := range vs {
		for _, k := range strings.Split(v, ",") {
			// As net/http's declareTrailer: fields not allowed in a trailer section (RFC 9110
			// 6.5.1; httpguts.ValidTrailerHeader) are not sent there.
			if k = strings.TrimSpace(k); k != "" && validTrailerName(http.CanonicalHeaderKey(k)) {
				w.trailers = append(w.trailers, http.CanonicalHeaderKey(k))
			}
		}
	}
	if hasToken(w.header["Connection"], "close") {
		w.closeAfter = true
	}
	_, w.hasDate = w.header["Date"]
	_, hasType := w.header["Content-Type"]
	te := w.header["Transfer-Encoding"]
	w.hasTE = len(te) > 0 && te[0] != ""
	w.teSet = w.hasTE && te[0] != "identity"
	// A Content-Type even empty (net/http's way to turn sniffing off); and, as net/http, no
	// sniffing of an encoded body (a Content-Encoding set, not blank: golang/go#31753).
	ce := w.header["Content-Encoding"]
	w.noSniff = hasType || w.hasTE || len(ce) > 0 && ce[0] != ""
	if len(w.header) > 0 {
		buf := w.ar.lines
		w.ar.lines = nil
		if buf == nil {
			buf = make([]byte, 0, 128)
		}
		w.lines = w.headerLines(buf[:0])
	}
}

func hasToken(vals []string, tok string) bool {
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
}

func statusLineFor(b []byte, code int) []byte {
	if code < 600 {
		return append(b, statusLines[code]...)
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	return append(b, " \r\n"...)
}

func (w *responseWriter) bodyAllowed() bool { return bodyAllowed(w.status) }

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	if w.ar.ended.Load() {
		return 0, errHandlerReturned
	}
	if w.failed != nil {
		return 0, w.failed
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(b) == 0 {
		return 0, nil
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.overran || w.declared >= 0 && w.written+int64(len(b)) > w.declared {
		w.overran = true // later writes fail too, as with net/http
		// As with net/http, the connection is not reused after a body that overran its length
		// (a HEAD response's length describes a body that is not sent).
		w.closeAfter = w.closeAfter || !w.isHead
		return 0, http.ErrContentLength
	}
	w.written += int64(len(b))
	if w.isHead {
		// No body goes out, but its first bytes choose the Content-Type, as with net/http.
		if !w.noSniff && len(w.body()) < sniffLen {
			w.buffer(b[:min(len(b), sniffLen-len(w.body()))])
		}
		return len(b), nil
	}
	w.buffer(b)
	if len(w.raw)-headRoom >= w.bufferLimit {
		if err := w.flush(false); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// sniffLen is what http.DetectContentType looks at.
const sniffLen = 512

// buffer appends b to the buffered body.
func (w *responseWriter) buffer(b []byte) {
	if w.raw == nil {
		if r := w.ar.raw; cap(r) >= headRoom+len(b) {
			w.raw, w.ar.raw = r[:headRoom], nil
		} else {
			w.raw = make([]byte, headRoom, headRoom+max(len(b), 128))
		}
	}
	w.raw = append(w.raw, b...)
}

// WriteString implements io.StringWriter.
func (w *responseWriter) WriteString(s string) (int, error) {
	return w.Write([]byte(s))
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if w.ar.ended.Load() || w.failed != nil {
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = w.flush(false)
}

// EnableFullDuplex is what http.ResponseController.EnableFullDuplex calls. FromHTTP handlers
// may always interleave Body reads with writes (the loop never consumes the body before the
// response starts, as net/http's HTTP/1 server does by default), so it only reports success.
func (w *responseWriter) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// SetReadDeadline is what http.ResponseController.SetReadDeadline calls: t replaces the
// Server's ReadTimeout for the rest of this request's body (the zero time: no deadline). When
// it passes with the body still arriving, the connection closes and Body.Read fails.
func (w *responseWriter) SetReadDeadline(t time.Time) error { return w.setDeadline(t, false) }

// SetWriteDeadline is what http.ResponseController.SetWriteDeadline calls: t replaces the
// Server's WriteTimeout for this response (the zero time: no deadline). When it passes with
// response bytes still queued, the connection closes.
func (w *responseWriter) SetWriteDeadline(t time.Time) error { return w.setDeadline(t, true) }

func (w *responseWriter) setDeadline(t time.Time, write bool) error {
	if w.ar.ended.Load() {
		return errHandlerReturned
	}
	if w.failed != nil {
		return w.failed
	}
	ar := w.ar
	ar.setDeadline(t, write)
	if !ar.t.execute(ar.applyDeadlines) {
		return errClientGone
	}
	return nil
}

// FlushError is Flush with an error, used by http.ResponseController.
func (w *responseWriter) FlushError() error {
	if w.ar.ended.Load() {
		return errHandlerReturned
	}
	w.Flush()
	return w.failed
}

// headerLines appends the handler's header fields except those the adapter manages, sorted by
// key as net/http writes them (so two keys that differ in case keep one order).
func (w *responseWriter) headerLines(b []byte) []byte {
	var buf [16]string
	keys := buf[:0]
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			w.hasTrailers = true
			continue
		}
		if !isTokenString(k) {
			continue
		}
		if adapterManaged(k) || k == "Content-Type" && w.status == http.StatusNotModified {
			continue // a 304 has no representation to describe (net/http drops its Content-Type too)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range w.header[k] {
			v = fieldValue(v)
			if !validFieldValueString(v) {
				continue // no header injection
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, crlf...)
		}
	}
	return b
}

// fieldValue is a handler's field value as it goes out: line breaks become spaces, as net/http
// writes them (so no field can be injected), and surrounding whitespace is trimmed. Values with
// other control bytes are then dropped by the caller (net/http would send them).
func fieldValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = newlineToSpace.Replace(v)
	}
	return strings.TrimSpace(v)
}

var newlineToSpace = strings.NewReplacer("\r", " ", "\n", " ")

// adapterManaged reports whether k names a field the adapter writes itself (in any case).
func adapterManaged(k string) bool {
	switch len(k) {
	case len("Content-Length"):
		return strings.EqualFold(k, "Content-Length")
	case len("Transfer-Encoding"):
		return strings.EqualFold(k, "Transfer-Encoding")
	case len("Connection"):
		return strings.EqualFold(k, "Connection")
	}
	return false
}

// lateTrailers reports whether the handler's fields hold a trailer by http.TrailerPrefix.
func (w *responseWriter) lateTrailers() bool {
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// headRoom is the space reserved in front of the buffered body for the response header, so a
// response that is not flushed before the handler returns leaves as one buffer, built in place.
const headRoom = 256

// body returns the buffered body bytes.
func (w *responseWriter) body() []byte {
	if len(w.raw) < headRoom {
		return nil
	}
	return w.raw[headRoom:]
}

// headBytes appends the response header to b. final means the handler has returned, so a
// buffered body's length is known.
func (w *responseWriter) headBytes(b []byte, final bool) []byte {
	b = statusLineFor(b, w.status)
	if !w.hasDate {
		b = w.ar.e.cfg.dateLine(b)
	}
	if !w.noSniff && w.bodyAllowed() && len(w.body()) > 0 {
		b = append(b, "Content-Type: "...)
		b = append(b, http.DetectContentType(w.body())...)
		b = append(b, crlf...)
	}
	switch {
	case !w.bodyAllowed():
	case w.declared >= 0 && !w.teSet:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, w.declared, 10)
		b = append(b, crlf...)
	case final && !w.hasTrailers && !w.hasTE && w.computedLength():
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, w.written, 10)
		b = append(b, crlf...)
	case w.isHead:
		// A HEAD response has no body to frame, and no length is made up for it (computedLength).
	case w.req.ProtoMinor >= 1 && (!w.hasTE || w.teSet):
		// (With "Transfer-Encoding: identity" the body ends at the close, as in net/http.)
		w.chunked = true
		b = append(b, chunkedTELine...) // the handler's Trailer field goes out with its others
	default:
		w.closeDelim = true
		w.closeAfter = true
	}
	if !w.keepAlive || w.ar.e.cfg.draining.Load() {
		w.closeAfter = true
	}
	if !final && w.ar.expect100 && w.ar.pipe != nil && !w.ar.pipe.complete() {
		// As net/http: a response that starts before the body of a client that waited for 100
		// Continue has arrived ends the connection (the loop does not hold for such a body: a
		// handler that returns before it ended closes), so it says so.
		w.closeAfter = true
	}
	if !final && w.ar.pipe != nil && w.ar.pipe.failed() {
		// The body was malformed or over MaxBodyBytes: the connection ends after this
		// response (the bytes after a bad body are not a request; see deliver), so it says
		// so, as net/http does.
		w.closeAfter = true
	}
	if !final && !w.fullDuplex && w.req.ContentLength > 0 && w.ar.pipe != nil &&
		w.req.ContentLength-w.ar.pipe.received() > maxHeldBody {
		// As net/http: more than 256 KiB of the body still to come when the response starts
		// is not discarded after the handler (see asyncReq.restDiscardable): a handler that
		// returns before it arrived closes the connection, so the response says so.
		w.closeAfter = true
	}
	if w.status == http.StatusSwitchingProtocols {
		// The upgrade's header, flushed before Hijack: the handler's Connection field
		// ("Upgrade"), as Hijack writes it and net/http sends it, not "close", which a
		// WebSocket client must reject (RFC 6455 4.1). The connection still ends after the
		// handler unless it hijacks.
		b = w.appendConnection(b)
	} else if w.closeAfter {
		b = append(b, connCloseLine...)
	} else if w.req.ProtoMinor == 0 {
		b = append(b, connKeepLine...)
	}
	b = append(b, w.lines...)
	return append(b, crlf...)
}

// appendConnection appends the handler's Connection field lines ("Upgrade", for an upgrade),
// which the adapter otherwise manages itself.
func (w *responseWriter) appendConnection(b []byte) []byte {
	for _, v := range w.header["Connection"] {
		if v = fieldValue(v); v != "" && validFieldValueString(v) {
			b = append(append(append(b, "Connection: "...), v...), crlf...)
		}
	}
	return b
}

// computedLength reports whether a response whose handler has returned, and announced no
// trailers and no Transfer-Encoding, gets the Content-Length of what it wrote (as net/http
// decides it). Not a HEAD response that wrote nothing: the handler may have left out a body it
// has. Not one with trailers set by http.TrailerPrefix after the header: they need the chunked
// body, which carries them (net/http drops them unless its buffer overflowed first), except on
// HTTP/1.0, which has no trailers.
func (w *responseWriter) computedLength() bool {
	if w.isHead {
		return w.written > 0
	}
	return w.req.ProtoMinor == 0 || !w.lateTrailers()
}

// flush sends the header (if not yet sent) and the buffered body; final ends the response.
func (w *responseWriter) flush(final bool) error {
	if final && !w.headerSent && w.ar.pipe != nil && !w.ar.pipe.complete() {
		// The rest of the body was not received and the loop will not wait for it (it may not
		// hold, or the handler closed the body: net/http then answers at once and closes):
		// close. (When it may hold, the loop sends this response once the body has ended. When
		// the header went out already, the loop decides: see deliver.)
		if w.ar.pipe.isClosed() {
			// Closed before the end: as with net/http, the response goes out at once rather
			// than wait for the rest of a body nobody reads. Read by the loop after setFinal.
			w.ar.noHold = true
		}
		if !w.ar.mayHold || w.ar.noHold {
			w.closeAfter = true
		}
	}
	var b []byte
	if !w.headerSent {
		w.headerSent = true
		if body := w.body(); final && len(body) > 0 && !w.isHead {
			// The common case: the whole response in one buffer. The header is built in the
			// room in front of the body (capacity capped so it cannot overwrite the body),
			// then moved up against it. The loop owns raw from now on.
			b = w.headBytes(w.raw[:0:headRoom], final)
			if !w.chunked && len(b) <= headRoom && cap(b) == headRoom {
				start := headRoom - len(b)
				copy(w.raw[start:], b)
				b, w.raw, w.ar.finalRaw = w.raw[start:], nil, w.raw
			}
		} else {
			b = w.headBytes(make([]byte, 0, 256), final)
		}
	}
	if body := w.body(); len(body) > 0 && !w.isHead {
		if w.chunked {
			b = appendChunk(b, body)
		} else {
			b = append(b, body...)
		}
		w.raw = w.raw[:headRoom]
	}
	if final {
		if w.declared >= 0 && w.written < w.declared && w.bodyAllowed() && !w.isHead {
			w.closeAfter = true // the response is shorter than announced: end the connection
		}
		if w.chunked {
			b = append(b, "0\r\n"...)
			b = w.trailerLines(b)
			b = append(b, crlf...)
		}
		w.send(b, true)
		return nil
	}
	return w.send(b, false)
}

func (w *responseWriter) trailerLines(b []byte) []byte {
	add := func(k string, vs []string) {
		if !isTokenString(k) {
			return
		}
		for _, v := range vs {
			if v = fieldValue(v); validFieldValueString(v) {
				b = append(b, k...)
				b = append(b, ": "...)
				b = append(b, v...)
				b = append(b, crlf...)
			}
		}
	}
	// Keys by http.TrailerPrefix first, then the declared ones: a name set both ways has its
	// values in that order, as net/http sends them.
	for k, vs := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			add(http.CanonicalHeaderKey(strings.TrimPrefix(k, http.TrailerPrefix)), vs)
		}
	}
	for _, k := range w.trailers {
		add(k, w.header[k])
	}
	return b
}

// send hands b to the loop. A non-final send waits until the loop queued it and the
// connection's send queue is short (backpressure); the final one does not wait.
func (w *responseWriter) send(b []byte, final bool) error {
	if final {
		// Run on the loop by the caller of serve: the handler goroutine may still be the loop's
		// own (Loop.GoTask), which then delivers without a hand-off.
		w.ar.setFinal(b, w.closeAfter)
		return nil
	}
	return w.sendPart(b, 0)
}

// sendPart is a non-final send: a part of the response, or with a 1xx code an interim
// response.
func (w *responseWriter) sendPart(b []byte, interim int) error {
	ar := w.ar
	ack := ar.ackChan()
	if ack == nil || !ar.t.execute(func() {
		if interim != 0 {
			ar.deliverInterim(b, interim)
		} else {
			ar.deliver(b, false, false, true)
		}
	}) {
		w.failed = errClientGone
		return w.failed
	}
	// The loop answers on ack, or closes it when the connection is gone (also when the loop
	// stopped before running deliver: closing a loop closes its connections).
	if err, ok := <-ack; !ok {
		w.failed = errClientGone
	} else if err != nil {
		w.failed = err
	}
	return w.failed
}

// run serves the request on a pool goroutine; the pool then calls finish, also when the
// handler ended its goroutine (runtime.Goexit), once it has given the worker's place back.
func (ar *asyncReq) run() { ar.handle() }

// finish hands the final delivery of a request run by a pool worker to the loop (pool
// goroutine, after run).
func (ar *asyncReq) finish() {
	if ar.finSet {
		ar.t.execute(ar.deliverFinal)
	}
}

// Run serves the request from Loop.GoTask (reactor.Task): on the loop goroutine itself, or on
// the goroutine it continued on after the loop was taken over (see startAsync). It reports
// whether there is a final delivery for Done. A handler that ends its goroutine
// (runtime.Goexit) takes this goroutine with it, the loop's own included (a standby goroutine
// takes the loop over): the final delivery then goes through execute.
func (ar *asyncReq) Run() bool {
	returned := false
	defer func() {
		if ar.detached {
			ar.e.cfg.pool.detachedDone()
		} else {
			ar.e.cfg.pool.inlineDone()
		}
		if !returned && ar.finSet {
			ar.t.execute(ar.deliverFinal)
		}
	}()
	ar.handle()
	returned = true
	return ar.finSet
}

// Done runs the final delivery on the loop after Run (reactor.Task).
func (ar *asyncReq) Done() { ar.deliverFinal() }

// handle runs the handler; its deferred part records the final delivery (setFinal).
func (ar *asyncReq) handle() {
	keepAlive := ar.keepAlive
	r := ar.req
	w := &ar.w
	*w = responseWriter{
		ar:          ar,
		req:         r,
		keepAlive:   keepAlive,
		isHead:      r.Method == http.MethodHead,
		header:      make(http.Header, 4), // its own: a goroutine of the handler may keep it
		declared:    -1,
		bufferLimit: ar.a.respBuffer,
	}
	returned := false
	defer ar.ended.Store(true) // after the deferred final flush below, before the loop recycles
	defer func() {
		if v := recover(); v != nil || !returned {
			if v == nil {
				v = http.ErrAbortHandler // runtime.Goexit (t.FailNow...): abort, as net/http closes
			}
			ar.handlerPanic(w, v)
			return
		}
		if w.failed == http.ErrHijacked {
			ar.cancel()             // the request ends with ServeHTTP, as in net/http
			ar.setFinal(nil, false) // ends the request; the connection is the hijacker's
			if ar.pipe != nil {
				_ = ar.pipe.Close()
			}
			return
		}
		if !w.wroteHeader {
			w.WriteHeader(http.StatusOK)
		}
		if w.failed == nil {
			_ = w.flush(true)
		} else {
			ar.setFinal(nil, true)
		}
		if ar.pipe != nil {
			_ = ar.pipe.Close()
		}
	}()
	h := ar.a.h
	if r.Method == http.MethodOptions && r.RequestURI == "*" && !ar.a.ownOptions {
		h = generalOptions{}
	}
	h.ServeHTTP(w, r)
	returned = true
}

func (ar *asyncReq) handlerPanic(w *responseWriter, v any) {
	if v != http.ErrAbortHandler && ar.e.cfg.logger != nil {
		buf := make([]byte, 8<<10)
		buf = buf[:runtime.Stack(buf, false)]
		ar.e.cfg.logger.Error("httpx: handler panic", "remote", w.req.RemoteAddr,
			"url", w.req.RequestURI, "panic", fmt.Sprint(v), "stack", string(buf))
	}
	if w.failed == http.ErrHijacked {
		// As with net/http, the hijacked connection is left to its hijacker: nothing is written
		// to it and it is not closed.
		if ar.pipe != nil {
			_ = ar.pipe.Close()
		}
		ar.cancel()
		ar.setFinal(nil, false)
		return
	}
	var b []byte
	// No hold for the rest of the body: the connection closes after the 500 (at once for
	// http.ErrAbortHandler), so there is no next request to keep it for.
	ar.aborted = true
	if !w.headerSent && v != http.ErrAbortHandler {
		b = appendErrorResponse(nil, 500, nil, w.isHead)
	}
	// A cut chunked body or one short of its Content-Length tells the client it is incomplete
	// when the connection closes; one that ends at the close does not (net/http closes all
	// three alike; ErrAbortHandler promises the client "an interrupted response").
	ar.resetEnd = w.headerSent && w.closeDelim
	if ar.pipe != nil {
		_ = ar.pipe.Close()
	}
	ar.setFinal(b, true)
}

// validTrailerName reports whether the canonical field name k may be sent in a trailer section
// (net/http: httpguts.ValidTrailerHeader).
func validTrailerName(k string) bool {
	if strings.HasPrefix(k, "If-") {
		return false
	}
	switch k {
	case "Authorization", "Cache-Control", "Connection", "Content-Encoding", "Content-Length",
		"Content-Range", "Content-Type", "Expect", "Host", "Keep-Alive", "Max-Forwards", "Pragma",
		"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Range", "Realm", "Te",
		"Trailer", "Transfer-Encoding", "Www-Authenticate":
		return false
	}
	return true
}
