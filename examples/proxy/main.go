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
	opts := []reactor.Option{reactor.WithLoops(*loops), reactor.WithBackend(reactor.Backend(*backend))}
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

// frontHandler dials upstream for each client. Bytes from either side are
// written to the other (forward). Either side closing closes both.
func frontHandler(upstream string) reactor.Handler {
	return reactor.HandlerFuncs{
		Open: func(front *reactor.Conn) {
			back, err := front.Loop().Dial("tcp", upstream, reactor.HandlerFuncs{
				Data: func(back *reactor.Conn, data []byte) int {
					forward(back, front, data)
					return len(data)
				},
				Close: func(*reactor.Conn, error) { front.Close() },
			})
			if err != nil {
				front.Close()
				return
			}
			front.SetContext(back) // writes before the connect completes are queued
		},
		Data: func(front *reactor.Conn, data []byte) int {
			if back, ok := front.Context().(*reactor.Conn); ok {
				forward(front, back, data)
			}
			return len(data)
		},
		Close: func(front *reactor.Conn, _ error) {
			if back, ok := front.Context().(*reactor.Conn); ok {
				back.Close()
			}
		},
	}
}

// Flow control: a conn's own water marks pause reading from that conn; a
// proxy must instead pause the source while the destination's queue is
// long. Both conns live on one loop, so a loop timer can watch the queue.
const (
	pipeHigh  = 1 << 20
	pipeLow   = 256 << 10
	pipeCheck = time.Millisecond
)

// forward writes data to dst and pauses src while dst has too much queued.
func forward(src, dst *reactor.Conn, data []byte) {
	if _, err := dst.Write(data); err != nil {
		src.Close()
		return
	}
	if dst.Buffered() > pipeHigh {
		src.PauseReading()
		resumeWhenDrained(src, dst)
	}
}

func resumeWhenDrained(src, dst *reactor.Conn) {
	src.Loop().AfterFunc(pipeCheck, func() {
		if dst.Buffered() <= pipeLow {
			src.ResumeReading() // kept input, if any, is presented again
			return
		}
		resumeWhenDrained(src, dst)
	})
}
