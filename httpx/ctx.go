package httpx

import (
	"bytes"
	"net"

	"github.com/ringo-io/ringo/reactor"
)

// HandlerFunc is the fast path: it runs inline on the connection's event loop, once per request,
// after the whole request (head and body) has been received and validated.
//
// Contract:
//   - The *Ctx and every slice it returns (method, path, headers, body, ...) are valid only until
//     the handler returns; the engine reuses them for the next request. A handler that needs a
//     value later copies it (string(b) or append([]byte(nil), b...)). Slices given to SetBody
//     must stay unchanged until the handler returns.
//   - The handler must not block: it holds up every connection of its loop. Blocking or slow work
//     belongs in FromHTTP handlers (a goroutine pool) or in goroutines the handler starts; those
//     goroutines must not touch the Ctx.
//   - A *Ctx is not safe for concurrent use; all its methods are loop only.
//   - A panic is recovered: the client gets a 500 if nothing was sent yet, the connection is
//     closed, the panic is logged, and other connections are not affected. runtime.Goexit
//     (t.FailNow in a test) cannot be stopped: it ends the loop, which closes its connections
//     and listener first, so Close and Shutdown still return.
//   - In steady state the engine allocates nothing per request; what the handler allocates is
//     its own business.
type HandlerFunc func(*Ctx)

func (HandlerFunc) isHandler() {}

// Handler is what a Server runs: a HandlerFunc (inline fast path) or the *Adapter returned by
// FromHTTP (net/http handlers on a goroutine pool). No other implementations exist.
type Handler interface{ isHandler() }

// Ctx is one request and its response on the fast path. See HandlerFunc for its lifetime.
type Ctx struct {
	e        *engine
	req      []byte   // the request's bytes from its request-line on
	h        *reqHead // parsed head (offsets into req)
	body     []byte
	trailers []hfield // offsets into req (chunked requests only)

	// Response.
	status     int
	ctype      []byte
	hdr        []byte // complete "Name: value\r\n" lines set by the handler
	resp       []byte // buffered body
	ref        []byte // body set by SetBody (used when useRef)
	useRef     bool
	isHead     bool
	keepAlive  bool // may the connection carry another request (decided before the handler)
	streaming  bool // the header was sent by Flush
	chunkedOut bool // the body is sent chunked (set when streaming starts)

	upgrade reactor.Handler // set by Upgrade: the connection's handler after a 101
}

// reset readies c for the next request. c.e and c.h are the engine's for good (newEngine), and
// release cleared the previous request's references.
func (c *Ctx) reset(req, body []byte, trailers []hfield, keepAlive bool) {
	c.req = req
	c.body = body
	c.trailers = trailers
	c.status = 200
	c.ctype = c.ctype[:0]
	c.hdr = c.hdr[:0]
	c.resp = c.resp[:0]
	c.useRef = false
	c.isHead = string(c.h.method.get(req)) == "HEAD"
	c.keepAlive = keepAlive
	c.streaming = false
	c.chunkedOut = false
}

// release drops references to input, to the handler's SetBody slice and to its Upgrade
// handler (loop only). It ends every request reset began.
func (c *Ctx) release() {
	c.req = nil
	c.body = nil
	c.ref = nil
	c.trailers = nil
	c.upgrade = nil
	if cap(c.resp) > 256<<10 {
		c.resp = nil // do not keep a large response buffer on an idle connection
	}
	if cap(c.hdr) > 256<<10 {
		c.hdr = nil // nor large header lines (the engine goes back to its loop's free list)
	}
	if cap(c.ctype) > 256<<10 {
		c.ctype = nil
	}
}

// Method returns the request method, e.g. "GET" (loop only; valid until the handler returns).
func (c *Ctx) Method() []byte { return c.h.method.get(c.req) }

// URI returns the request-target as received, e.g. "/a/b?x=1" (loop only; valid until the
// handler returns).
func (c *Ctx) URI() []byte { return c.h.target.get(c.req) }

// Path returns the path of the request-target without the query, not unescaped. For an
// absolute-form target with an empty path it returns "/"; for "*" it returns "*" (loop only;
// valid until the handler returns).
func (c *Ctx) Path() []byte {
	if c.h.path.len() == 0 {
		return slash
	}
	return c.h.path.get(c.req)
}

var slash = []byte("/")

// QueryString returns the query of the request-target without '?', not unescaped, or nil
// (loop only; valid until the handler returns).
func (c *Ctx) QueryString() []byte {
	if c.h.query.len() == 0 {
		return nil
	}
	return c.h.query.get(c.req)
}

// QueryArg returns the raw (not unescaped) value of the first query parameter named name, or nil
// if absent (loop only; valid until the handler returns).
func (c *Ctx) QueryArg(name string) []byte {
	q := c.QueryString()
	for len(q) > 0 {
		var kv []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			kv, q = q[:i], q[i+1:]
		} else {
			kv, q = q, nil
		}
		k, v := kv, kv[len(kv):]
		if i := bytes.IndexByte(kv, '='); i >= 0 {
			k, v = kv[:i], kv[i+1:]
		}
		if string(k) == name {
			return v
		}
	}
	return nil
}

// Proto returns "HTTP/1.1" or "HTTP/1.0" (safe to keep: a constant).
func (c *Ctx) Proto() string {
	if c.h.minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// ProtoMinor returns the minor HTTP version: 0 or 1 (loop only).
func (c *Ctx) ProtoMinor() int { return int(c.h.minor) }

// Host returns the request's host: the authority of an absolute-form target, else the Host
// field (loop only; valid until the handler returns).
func (c *Ctx) Host() []byte {
	if c.h.form == formAbsolute {
		return c.h.authority.get(c.req)
	}
	if c.h.hostCount == 0 {
		return nil
	}
	return c.h.host.get(c.req)
}

// Header returns the value of the first field line named name (case-insensitive), or nil
// (loop only; valid until the handler returns).
func (c *Ctx) Header(name string) []byte {
	for _, f := range c.h.fields {
		if eqFoldString(f.name.get(c.req), name) {
			return f.value.get(c.req)
		}
	}
	return nil
}

// VisitHeaders calls f for every field line in the order received (loop only; the slices are
// valid until the handler returns).
func (c *Ctx) VisitHeaders(f func(name, value []byte)) {
	for _, fl := range c.h.fields {
		f(fl.name.get(c.req), fl.value.get(c.req))
	}
}

// Trailer returns the value of the first trailer field named name, or nil (loop only; valid
// until the handler returns). Trailers exist only on chunked requests.
func (c *Ctx) Trailer(name string) []byte {
	for _, f := range c.trailers {
		if eqFoldString(f.name.get(c.req), name) {
			return f.value.get(c.req)
		}
	}
	return nil
}

// VisitTrailers calls f for every trailer field in order (loop only).
func (c *Ctx) VisitTrailers(f func(name, value []byte)) {
	for _, fl := range c.trailers {
		f(fl.name.get(c.req), fl.value.get(c.req))
	}
}

// ContentLength returns the Content-Length of the request, or -1 for a chunked request, or 0
// (loop only).
func (c *Ctx) ContentLength() int64 {
	if c.h.chunked {
		return -1
	}
	if c.h.contentLen < 0 {
		return 0
	}
	return c.h.contentLen
}

// Body returns the whole request body (decoded if it was chunked), at most Server.MaxBodyBytes
// (loop only; valid until the handler returns).
func (c *Ctx) Body() []byte { return c.body }

// RemoteAddr returns the client's address (loop only; the value itself is immutable).
func (c *Ctx) RemoteAddr() net.Addr { return c.e.t.remoteAddr() }

// LocalAddr returns the server's address of this connection (loop only; immutable value).
func (c *Ctx) LocalAddr() net.Addr { return c.e.t.localAddr() }
