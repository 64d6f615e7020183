// Command proxy is a TCP reverse proxy on the ringo reactor: each accepted
// connection is forwarded to -to through a connection dialed on the same
// loop (Loop.Dial), so both sides share a loop and no goroutine is involved.
//
//	proxy -addr 127.0.0.1:8080 -to 127.0.0.1:9090 -loops 0 [-backend auto|uring|epoll]
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	to := flag.String("to", "", "upstream host:port (required)")
	loops := flag.Int("loops", 0, "event loops (0 = GOMAXPROCS)")
	backend := flag.String("backend", "", "reactor backend: auto, uring or epoll (default: $RINGO_BACKEND, else auto)")
	flag.Parse()
	opts := append([]reactor.Option{reactor.WithLoops(*loops), reactor.WithBackend(reactor.Backend(*backend))}, options()...)
	if *to == "" {
		fmt.Fprintln(os.Stderr, "proxy: -to host:port is required")
		os.Exit(2)
	}
	s, err := reactor.Listen("tcp", *addr, frontHandler(*to), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	if err := s.Serve(); err != nil && err != reactor.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

// options are the reactor options the proxy needs. The reactor's write
// water marks pause reading a conn whose own outbound queue is long: right
// for a server, whose input makes its output, but in a proxy a conn's input
// is the other direction. Paused there, an upstream (or client) that reads
// more only once what it sent was taken (an echo, any server that answers
// as it reads) never drains the queue that paused it: both directions stop
// for good. The proxy bounds each queue itself (forward), so the marks are
// off.
func options() []reactor.Option {
	return []reactor.Option{reactor.WithWriteWaterMarks(math.MaxInt, math.MaxInt)}
}

// frontHandler dials upstream for each client; a pair joins the two conns.
// Bytes from either side are written to the other (forward). An EOF from
// one side is passed on as a half-close of the other (CloseWrite: FIN after
// the bytes already queued), so a client that sends its request and then
// shuts down its write side still gets the whole response; once both sides
// have sent EOF, or either closes, both close (after their queued output); a
// side that fails (a reset, a failed dial) resets the other once its queued
// output is sent, so a cut transfer never looks like a clean EOF; so does
// the server's Close (Shutdown's context ended), which resets both.
func frontHandler(upstream string) reactor.Handler { return front{upstream} }

// pair is one proxied connection: the client's conn and the upstream conn.
// Loop only (both conns live on one loop).
type pair struct {
	front, back         *reactor.Conn // back is nil until Dial returned
	frontEOF, backEOF   bool
	frontGone, backGone bool // OnClose ran (the conn's fd may be closed and reused)
	aborting            bool // one side closed with an error: the other is reset once its queue is sent
}

// other returns the conn on the other side of c, or nil.
func (p *pair) other(c *reactor.Conn) *reactor.Conn {
	if c == p.front {
		return p.back
	}
	return p.front
}

func (p *pair) data(c *reactor.Conn, data []byte) int {
	if to := p.other(c); to != nil && !p.aborting {
		forward(c, to, data)
	}
	return len(data)
}

// eof records that from sent EOF and passes it on to the other side.
func (p *pair) eof(from *reactor.Conn) {
	if p.aborting {
		return // the reset ends it
	}
	if from == p.front {
		p.frontEOF = true
	} else {
		p.backEOF = true
	}
	to := p.other(from)
	if to == nil || p.frontEOF && p.backEOF {
		p.front.Close()
		if p.back != nil {
			p.back.Close()
		}
		return
	}
	if to.CloseWrite() != nil {
		from.Close()
	}
}

// closed passes c's close on to the other side: a graceful close as a
// graceful close (after the queued output), an error (the peer's reset, a
// failed dial) as a reset once the queued output is sent, so that the other
// peer does not take the end of a cut transfer for a clean EOF.
func (p *pair) closed(c *reactor.Conn, err error) {
	if err == reactor.ErrServerClosed {
		// Close, or Shutdown whose context ended, cuts the pair whatever it was
		// doing: c's fd is still open (closed after OnClose), so it ends with a
		// reset, not a FIN its peer would take for the end of the transfer
		// (Conn.Reset refuses a conn already closed, hence the socket option).
		lingerZero(c.Fd())
	}
	toGone := &p.backGone
	if c == p.front {
		p.frontGone = true
	} else {
		p.backGone = true
		toGone = &p.frontGone
	}
	to := p.other(c)
	if to == nil || *toGone {
		return
	}
	if err == nil || p.aborting {
		to.Close()
		return
	}
	p.aborting = true
	to.PauseReading() // what its peer still sends has nowhere to go
	to.NotifySent(0, func(e error) {
		if e != nil {
			return // closed first
		}
		to.Reset() // RST instead of FIN (on unix sockets, which have none: a close)
	})
}

// front handles client conns, whose context is their pair; back handles the
// dialed conns, which carry their pair in the handler (a dial that fails at
// once reports its close before Dial returns).
type front struct{ upstream string }

func (f front) OnOpen(c *reactor.Conn) {
	p := &pair{front: c}
	c.SetContext(p)
	// A proxy cannot tell where a message ends, so Shutdown must not close a
	// pair as idle: a side that is only waiting for the other's bytes looks
	// idle, and closing it would cut a transfer with what looks like a clean
	// EOF. Shutdown waits for busy conns until its context ends.
	c.SetBusy(true)
	b, err := c.Loop().Dial("tcp", f.upstream, back{p})
	if err != nil {
		c.Close()
		return
	}
	p.back = b // writes before the connect completes are queued
	b.SetBusy(true)
}

func (front) OnData(c *reactor.Conn, data []byte) int {
	if p, ok := c.Context().(*pair); ok {
		return p.data(c, data)
	}
	return len(data)
}

func (front) OnReadEOF(c *reactor.Conn) {
	if p, ok := c.Context().(*pair); ok {
		p.eof(c)
		return
	}
	c.Close()
}

func (front) OnClose(c *reactor.Conn, err error) {
	if p, ok := c.Context().(*pair); ok {
		p.closed(c, err)
	}
}

type back struct{ p *pair }

func (back) OnOpen(*reactor.Conn)                      {}
func (b back) OnData(c *reactor.Conn, data []byte) int { return b.p.data(c, data) }
func (b back) OnReadEOF(c *reactor.Conn)               { b.p.eof(c) }
func (b back) OnClose(c *reactor.Conn, err error)      { b.p.closed(c, err) }

// Flow control: a conn's own water marks pause reading from that conn; a
// proxy must instead pause the source while the destination's queue is
// long. Both conns live on one loop, so a loop timer can watch the queue.
const (
	pipeHigh     = 1 << 20
	pipeLow      = 256 << 10
	pipeCheck    = time.Millisecond      // the first check
	pipeCheckMax = 64 * time.Millisecond // checks back off to this (a reader that stalls for long)
)

// forward writes data to dst and pauses src while dst has too much queued.
func forward(src, dst *reactor.Conn, data []byte) {
	if _, err := dst.Write(data); err != nil {
		src.Close()
		return
	}
	if dst.Buffered() > pipeHigh {
		src.PauseReading()
		resumeWhenDrained(src, dst, pipeCheck)
	}
}

// resumeWhenDrained resumes src once dst's queue is short, checking after
// wait, then twice as long each time up to pipeCheckMax (a stalled reader
// costs a check every 64 ms, not every millisecond).
func resumeWhenDrained(src, dst *reactor.Conn, wait time.Duration) {
	src.Loop().AfterFunc(wait, func() {
		if dst.Buffered() <= pipeLow {
			src.ResumeReading() // kept input, if any, is presented again
			return
		}
		resumeWhenDrained(src, dst, min(2*wait, pipeCheckMax))
	})
}
