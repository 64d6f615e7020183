// Package reactor runs per-core event loops serving TCP (and unix sockets)
// over io_uring or, where io_uring is missing or forbidden, epoll.
//
// A Server owns N loops (default GOMAXPROCS). Each loop is a goroutine locked
// to its OS thread that owns one kernel queue (an io_uring or an epoll
// instance), its listeners, its connections, its timers and a wake-up
// eventfd. A Handler's methods run on the connection's loop, never
// concurrently for one Conn. Methods documented "loop only" must be called
// from that loop (from a Handler callback, an Execute or AfterFunc func);
// methods documented "safe from any goroutine" may be called from anywhere.
//
// Life of a byte in: the kernel completes a recv (io_uring, often into a
// provided buffer) or reports readiness (epoll, then read into the loop's
// buffer); OnData sees the bytes in place; what it does not consume is copied
// to the connection's pending buffer and presented again, prefixed, with the
// next bytes.
//
// Life of a byte out: Write copies into the connection's outbound queue; at
// the end of the loop iteration each connection with queued output gets one
// send carrying all of it (one send in flight per connection; a short send
// continues with the rest). A Write of 16 KiB or more on a connection with
// nothing queued or in flight is sent at once instead, from the caller's
// slice, and only what the socket does not take is queued. Above the high-water mark reading pauses until
// the queue drains below the low-water mark.
//
// Backends. BackendAuto (the default; RINGO_BACKEND or WithBackend override
// it) uses io_uring when ring.Detect succeeds and the kernel has FAST_POLL
// and the opcodes the reactor submits, else epoll; the choice and its reason
// are logged once at Start and returned by Server.Backend and
// Server.BackendReason. On io_uring each feature degrades on its own:
//
//	multishot accept (5.19)      else one accept re-armed per connection
//	multishot recv + buffer ring else a POLL_ADD per conn, then a single-shot
//	(6.0), bundles (6.10)        recv into a pooled buffer (WithReadBufferSize)
//	                             held only while that recv is in flight
//	SINGLE_ISSUER/DEFER_TASKRUN  else COOP_TASKRUN, else plain (ring.New)
//	EXT_ARG wait timeout (5.11)  else an internal TIMEOUT SQE (ring)
//	registered file table        conns beyond it (or if it cannot be
//	                             registered) are named by fd
//
// Half-close: a Handler that also implements ReadEOFHandler is told when the
// peer shuts down its write side (OnReadEOF) and may go on writing until it
// calls Close; other handlers see the conn closed once queued output is sent.
// The other way round, Conn.CloseWrite sends the peer EOF after the queued
// output and goes on reading (examples/proxy passes each side's EOF on so).
//
// AsyncWrite is bounded per conn (WithAsyncWriteLimit): over the limit it
// fails at once with ErrQueueFull rather than block or queue without end.
//
// Idle memory: an idle conn holds its Conn (144 bytes, 177-196 bytes of heap
// in all per TestIdleConnHeapBounded: addresses kept compact, no pooled
// buffer, no timer unless a deadline is set) and a slot
// in its loop's table; input and output buffers are pooled per loop and
// held only while non-empty.
//
// Memory the kernel uses after a submit (recv buffers, the bytes being
// sent, sockaddrs, the wake-up read buffer) stays referenced by its conn,
// listener or loop until the op's final CQE; provided buffers are off-heap.
package reactor
