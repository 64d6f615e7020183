// Command echo is a TCP echo server on the ringo reactor.
//
//	echo -addr 127.0.0.1:8080 -loops 0 [-backend auto|uring|epoll]
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
	loops := flag.Int("loops", 0, "event loops (0 = GOMAXPROCS)")
	backend := flag.String("backend", "", "reactor backend: auto, uring or epoll (default: $RINGO_BACKEND, else auto)")
	flag.Parse()
	opts := []reactor.Option{reactor.WithLoops(*loops), reactor.WithBackend(reactor.Backend(*backend))}

	echo := reactor.HandlerFuncs{Data: func(c *reactor.Conn, data []byte) int {
		c.Write(data) // 16 KiB or more is sent at once, less is queued and sent at the end of the iteration
		return len(data)
	}}
	s, err := reactor.Listen("tcp", *addr, echo, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
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
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}
