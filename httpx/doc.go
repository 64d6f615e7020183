// Package httpx is ringo's HTTP/1.1 server: a strict, incremental, zero-allocation request
// parser and connection engine running inline on the reactor's event loops, with a fast path
// for handlers written against *Ctx and an adapter for standard net/http handlers.
//
// # Fast path
//
//	srv := &httpx.Server{Handler: httpx.HandlerFunc(func(c *httpx.Ctx) {
//		c.SetContentType("text/plain")
//		c.WriteString("Hello, World!")
//	})}
//	err := srv.ListenAndServe("127.0.0.1:8080")
//
// A HandlerFunc runs on the loop that owns the connection, after the whole request (head and
// body, bounded by MaxBodyBytes) has arrived and been validated. Nothing from the Ctx may be kept
// after the handler returns unless copied; the handler must not block. See HandlerFunc for the
// full contract and response.go for the life of a write. In steady state the engine allocates
// nothing per request (checked by TestZeroAllocFastPath).
//
// # net/http handlers
//
//	srv := &httpx.Server{Handler: httpx.FromHTTP(mux)}
//
// runs standard handlers with a real *http.Request and a streaming body: on the parked loop's
// own goroutine (a standby goroutine takes the loop over if a handler blocks), or on locked
// loops on a bounded goroutine pool. See Adapter for what it does, what it costs and what it
// does not support.
//
// # Strictness
//
// The parser follows RFC 9112 strictly: CRLF line endings only; token methods and field names;
// one SP between request-line parts; no whitespace before a field's colon; no obs-fold; no
// control characters in field values; exactly one Host in HTTP/1.1 (and a valid one); exactly one
// framing (Content-Length together with Transfer-Encoding, differing Content-Length values,
// Transfer-Encoding in HTTP/1.0, or a Transfer-Encoding whose final coding is not chunked are
// rejected); chunk sizes checked for overflow; chunk extensions and trailer fields validated.
// Rejections are answered with 400, 413 (body), 414 (request line), 417 (expectation),
// 431 (fields), 501 (unknown transfer coding, CONNECT) or 505 (HTTP version), always with
// "Connection: close", after which the connection closes; a rejected request is never answered
// with 2xx and bytes after it are never parsed. The shared conformance suite
// (../shared/conformance, run by TestConformanceEngine in memory and TestConformanceE2E over
// sockets, and through FromHTTP by TestConformanceAdapter and TestConformanceE2EFromHTTP) passes
// 300 of 300.
//
// Half-close: a client that shuts down its sending side after its requests gets every response
// to the requests it completed, in order, then the connection closes; a request cut off by the
// EOF is answered with 400 (on both paths).
//
// Keep-alive is the default for HTTP/1.1 and is honoured for HTTP/1.0 only when asked for.
// Pipelined requests are answered in order; the responses produced from one read leave in one
// send. "Expect: 100-continue" gets a 100 Continue when the body is awaited (fast path: as soon as
// the head is complete and the body is not; FromHTTP: when the handler first reads the body).
// HEAD responses carry the headers of the GET response without its body.
package httpx
