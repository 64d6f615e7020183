package httpx

import (
	"errors"
	"net/http"

	"github.com/ringo-io/ringo/reactor"
)

// ErrBodyNotAllowed is returned by Ctx.Write when the response status carries no content
// (1xx, 204, 304). For HEAD requests writes succeed and are discarded.
var ErrBodyNotAllowed = errors.New("httpx: response status does not allow a body")

// SetStatus sets the response status (default 200). Codes outside 200..599 are ignored: this
// server sends no interim responses on behalf of handlers, and switches protocols only through
// Upgrade, which a later SetStatus cancels (loop only; before the first Flush).
func (c *Ctx) SetStatus(code int) {
	if code >= 200 && code <= 599 && !c.streaming {
		c.status = code
	}
}

// ErrUpgrade is returned by Ctx.Upgrade when the connection cannot switch protocols.
var ErrUpgrade = errors.New("httpx: cannot upgrade this request's connection")

// Upgrade switches the connection to another protocol after this response, on the fast path:
// the response becomes "101 Switching Protocols" with "Connection: Upgrade" (the handler adds
// the Upgrade field and what its protocol needs, such as Sec-WebSocket-Accept, with
// SetHeader), and once it is queued, h is the connection's reactor.Handler: h.OnOpen runs, then
// h.OnData gets the bytes the client sent behind the request, at once, and all later input.
// The HTTP server is then out of the connection: its timeouts no longer apply (h sets its own
// with the Conn's deadlines and idle timeout), its Context is h's, and it counts against
// MaxConns until it closes. Like a hijacked connection it is busy for Shutdown, which waits for
// it until its context ends and then closes it (see RegisterOnShutdown); h may call
// Conn.SetBusy(false) while its protocol is idle. h runs on the loop, with the
// reactor.Handler rules.
//
// Upgrade returns ErrUpgrade, and changes nothing, for an HTTP/1.0 request, one that closes
// the connection after it (Connection: close, or a Shutdown in progress), or after Flush. A
// handler that then sets another status with SetStatus answers normally instead; a
// "Connection: close" it sets afterwards is ignored. As for any reactor.Handler, h.OnClose runs
// even when h.OnOpen panicked (loop only).
func (c *Ctx) Upgrade(h reactor.Handler) error {
	if h == nil || c.streaming || c.h.minor != 1 || !c.keepAlive {
		return ErrUpgrade
	}
	c.status = http.StatusSwitchingProtocols
	c.upgrade = h
	return nil
}

// upgrading reports whether the response switches the connection to c.upgrade.
func (c *Ctx) upgrading() bool {
	return c.upgrade != nil && c.status == http.StatusSwitchingProtocols && c.keepAlive
}

// Status returns the response status set so far (loop only).
func (c *Ctx) Status() int { return c.status }

// SetContentType sets the Content-Type field (loop only; before the first Flush).
func (c *Ctx) SetContentType(v string) {
	// The value accepted last on this loop is not checked again. Handlers pass the same
	// constant each time, and comparing a string with itself stops at the pointers.
	if lc := c.e.lc; v != lc.okType {
		if !validFieldValueString(v) {
			return
		}
		lc.okType = v
	}
	c.ctype = append(c.ctype[:0], v...)
}

// SetHeader replaces every response field named name with one line "name: value".
//
// Fields the engine manages are treated specially: Content-Type is SetContentType;
// Content-Length, Transfer-Encoding and Date are computed by the engine and ignored here;
// "Connection: close" closes the connection after the response (other Connection values are
// ignored). A name that is not a token or a value with CR, LF or another CTL is ignored (no
// header injection). Loop only; before the first Flush.
func (c *Ctx) SetHeader(name, value string) {
	if c.managedHeader(name, value) {
		return
	}
	c.DelHeader(name)
	c.appendHeader(name, value)
}

// AddHeader adds a response field line, keeping existing ones of the same name (loop only;
// the rules of SetHeader apply).
func (c *Ctx) AddHeader(name, value string) {
	if c.managedHeader(name, value) {
		return
	}
	c.appendHeader(name, value)
}

// SetHeaderBytes is SetHeader with a byte-slice value (no conversion cost; loop only).
func (c *Ctx) SetHeaderBytes(name string, value []byte) {
	if c.streaming || !isTokenString(name) {
		return
	}
	for _, b := range value {
		if charClass[b]&clsFieldVal == 0 {
			return
		}
	}
	if strEqFold(name, "content-type") {
		c.ctype = append(c.ctype[:0], value...)
		return
	}
	// managedHeader only needs to know whether the value is "close" (Connection).
	v := ""
	if eqFold(value, "close") {
		v = "close"
	}
	if c.managedHeader(name, v) {
		return
	}
	c.DelHeader(name)
	c.hdr = append(c.hdr, name...)
	c.hdr = append(c.hdr, ": "...)
	c.hdr = append(c.hdr, value...)
	c.hdr = append(c.hdr, crlf...)
}

func (c *Ctx) appendHeader(name, value string) {
	if c.streaming || !isTokenString(name) || !validFieldValueString(value) {
		return
	}
	c.hdr = append(c.hdr, name...)
	c.hdr = append(c.hdr, ": "...)
	c.hdr = append(c.hdr, value...)
	c.hdr = append(c.hdr, crlf...)
}

// managedHeader handles the fields the engine owns; it reports whether name was one of them.
func (c *Ctx) managedHeader(name, value string) bool {
	switch len(name) {
	case 4:
		return strEqFold(name, "date")
	case 10:
		if strEqFold(name, "connection") {
			if strEqFold(value, "close") {
				c.SetConnectionClose()
			}
			return true
		}
	case 12:
		if strEqFold(name, "content-type") {
			c.SetContentType(value) // "" removes the field, as SetContentType("") does
			return true
		}
	case 14:
		return strEqFold(name, "content-length")
	case 17:
		return strEqFold(name, "transfer-encoding")
	}
	return false
}

// DelHeader removes every response field line named name, Content-Type included (loop only).
func (c *Ctx) DelHeader(name string) {
	if c.streaming {
		return // the head is sent
	}
	if len(name) == 12 && strEqFold(name, "content-type") {
		c.ctype = c.ctype[:0]
		return
	}
	h := c.hdr
	out := h[:0]
	for len(h) > 0 {
		end := 0
		for end+1 < len(h) && !(h[end] == '\r' && h[end+1] == '\n') {
			end++
		}
		line := h[:end+2]
		h = h[end+2:]
		colon := 0
		for colon < len(line) && line[colon] != ':' {
			colon++
		}
		if eqFoldString(line[:colon], name) {
			continue
		}
		out = append(out, line...)
	}
	c.hdr = out
}

// SetConnectionClose makes the connection close after this response; after Upgrade it does
// nothing. After Flush the head went out without "Connection: close": the connection still
// closes once the response is complete (loop only).
func (c *Ctx) SetConnectionClose() {
	if c.upgrade == nil {
		c.keepAlive = false
	}
}

// Write appends b to the response body (buffered until the handler returns or Flush). It
// implements io.Writer (loop only).
func (c *Ctx) Write(b []byte) (int, error) {
	if !bodyAllowed(c.status) {
		return 0, ErrBodyNotAllowed
	}
	if c.useRef {
		c.resp = append(c.resp[:0], c.ref...)
		c.useRef, c.ref = false, nil
	}
	c.resp = append(c.resp, b...)
	return len(b), nil
}

// WriteString appends s to the response body (loop only).
func (c *Ctx) WriteString(s string) (int, error) {
	if !bodyAllowed(c.status) {
		return 0, ErrBodyNotAllowed
	}
	if c.useRef {
		c.resp = append(c.resp[:0], c.ref...)
		c.useRef, c.ref = false, nil
	}
	c.resp = append(c.resp, s...)
	return len(s), nil
}

// SetBody replaces the response body with b without copying it now; b must stay unchanged
// until the handler returns (loop only).
func (c *Ctx) SetBody(b []byte) {
	c.resp = c.resp[:0]
	c.ref = b
	c.useRef = true
}

// SetBodyString replaces the response body with s (loop only).
func (c *Ctx) SetBodyString(s string) {
	c.useRef, c.ref = false, nil
	c.resp = append(c.resp[:0], s...)
}

// Flush sends the response header now (on the first call) and everything written so far, and
// switches the response to streaming: Transfer-Encoding: chunked for HTTP/1.1 clients, a body
// delimited by closing the connection for HTTP/1.0 clients. Later writes are sent by the next
// Flush or when the handler returns. The bytes leave at the end of the current loop iteration
// (loop only).
func (c *Ctx) Flush() error {
	e := c.e
	if !c.streaming {
		c.streaming = true
		e.appendHead(c, -1)
	}
	body := c.resp
	if c.useRef {
		body = c.ref
	}
	if bodyAllowed(c.status) && !c.isHead {
		if c.chunkedOut {
			e.out = appendChunk(e.out, body)
		} else {
			e.out = append(e.out, body...)
		}
	}
	c.resp = c.resp[:0]
	c.ref, c.useRef = nil, false
	e.flushOut()
	return nil
}
