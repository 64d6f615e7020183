package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// asyncReq is one FromHTTP request in flight. Fields marked "loop" are touched only on the
// connection's loop; the handler goroutine talks to the loop only through transport.execute.
type asyncReq struct {
	e      *engine // loop
	a      *Adapter
	req    *http.Request // built on the loop, then owned by the handler goroutine
	pipe   *bodyPipe     // nil when the request has no body
	cancel context.CancelFunc

	clRem       int64 // loop: Content-Length bytes not yet received
	bodyPaused  bool  // loop: reading paused because the pipe is full
	respStarted bool  // loop: response bytes were queued
	gone        bool  // loop: the connection is closed
	expect100   bool  // immutable
}

// errors the handler sees from Request.Body.
var (
	errBadBody    = errors.New("httpx: malformed request body")
	errBodyLimit  = errors.New("httpx: request body too large")
	errClientGone = errors.New("httpx: client disconnected")
)

// startAsync builds the *http.Request for the complete head in req and hands it to the pool
// (loop only).
func (e *engine) startAsync(req []byte) {
	a := e.cfg.adapter
	h := &e.head
	r, ok := buildRequest(req, h, e.t)
	if !ok {
		e.reject(400)
		return
	}
	ctx, cancel := context.WithCancel(a.baseContext())
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, e.t.localAddr())
	ar := &asyncReq{e: e, a: a, cancel: cancel, expect100: h.expect100}
	if h.hasBody() {
		ar.pipe = newBodyPipe(ar, a.bodyBuffer)
		r.Body = ar.pipe
		ar.clRem = h.contentLen
		if h.chunked {
			r.Trailer = declaredTrailers(r.Header)
		}
		e.state = stAsyncBody
	} else {
		r.Body = http.NoBody
		e.state = stAsyncWait
	}
	ar.req = r.WithContext(ctx)
	keepAlive := h.keepAliveAfter() && !e.shutdown
	if !a.pool.submit(func() { ar.run(keepAlive) }) {
		cancel()
		e.reject(503)
		return
	}
	e.async = ar
}

// buildRequest copies the parsed head into a new *http.Request.
func buildRequest(req []byte, h *reqHead, t transport) (*http.Request, bool) {
	target := string(h.target.get(req))
	var u *url.URL
	if h.form == formAsterisk {
		u = &url.URL{Path: "*"}
	} else {
		var err error
		if u, err = url.ParseRequestURI(target); err != nil {
			return nil, false
		}
	}
	hdr := make(http.Header, len(h.fields))
	for _, f := range h.fields {
		k := textproto.CanonicalMIMEHeaderKey(string(f.name.get(req)))
		hdr[k] = append(hdr[k], string(f.value.get(req)))
	}
	r := &http.Request{
		Method:     string(h.method.get(req)),
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: int(h.minor),
		Header:     hdr,
		RequestURI: target,
		RemoteAddr: addrString(t.remoteAddr()),
		Close:      !h.keepAliveAfter(),
	}
	if h.minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	if h.form == formAbsolute {
		r.Host = string(h.authority.get(req))
	} else if h.hostCount > 0 {
		r.Host = string(h.host.get(req))
	}
	switch {
	case h.chunked:
		r.ContentLength = -1
		r.TransferEncoding = []string{"chunked"}
	case h.contentLen > 0:
		r.ContentLength = h.contentLen
	}
	return r, true
}

// declaredTrailers returns the Trailer map announced by the "Trailer" field (values nil until the
// body has been read), or nil.
func declaredTrailers(h http.Header) http.Header {
	var t http.Header
	for _, v := range h.Values("Trailer") {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				if t == nil {
					t = make(http.Header)
				}
				t[textproto.CanonicalMIMEHeaderKey(k)] = nil
			}
		}
	}
	return t
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
	if !e.head.chunked {
		n := min(int64(len(req)-e.bodyPos), ar.clRem)
		if n > 0 {
			full := ar.pipe.push(req[e.bodyPos : e.bodyPos+int(n)])
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
			full = ar.pipe.push(data)
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
		e.process(e.carry, true)
		e.flushOut()
	}
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

// deliver runs on the loop with response bytes from the handler goroutine. final marks the end
// of the response; closeAfter asks to close the connection after it. ack (may be nil) is sent
// nil once the bytes are queued and the send queue is short, or an error if the client is gone.
func (ar *asyncReq) deliver(b []byte, final, closeAfter bool, ack chan error) {
	e := ar.e
	if ar.gone {
		if ack != nil {
			ack <- errClientGone
		}
		return
	}
	if len(b) > 0 {
		ar.respStarted = true
		e.out = append(e.out, b...)
	}
	if final {
		ar.done(closeAfter)
	} else {
		e.flushOut()
	}
	if ack != nil {
		ar.ackWhenDrained(ack, 0)
	}
}

// respHighWater is the send-queue size above which a streaming handler's flush waits.
const respHighWater = 256 << 10

func (ar *asyncReq) ackWhenDrained(ack chan error, tries int) {
	if ar.gone {
		ack <- errClientGone
		return
	}
	if ar.e.t.buffered() <= respHighWater || tries > 60000 {
		ack <- nil
		return
	}
	ar.e.t.after(time.Millisecond, func() { ar.ackWhenDrained(ack, tries+1) })
}

// done finishes the request on the loop: the response is complete.
func (ar *asyncReq) done(closeAfter bool) {
	e := ar.e
	e.async = nil
	ar.cancel()
	if closeAfter || e.shutdown || e.state != stAsyncWait {
		// Unread body (state still stAsyncBody) or a response that must end the connection.
		e.closing = true
		e.flushOut()
		return
	}
	e.state = stIdle
	if e.holdPaused {
		e.holdPaused = false
		e.t.resumeReading()
	}
	if len(e.carry) > 0 {
		e.process(e.carry, true)
	}
	e.flushOut()
}

// connGone runs on the loop when the connection closed while the handler runs.
func (ar *asyncReq) connGone() {
	ar.gone = true
	ar.cancel()
	if ar.pipe != nil {
		ar.pipe.finish(nil, errClientGone)
	}
}
