// Command hello is the HTTP benchmark server: any method and path is answered with
// 200 "Hello, World!" (text/plain) on the httpx fast path.
//
//	hello -addr 127.0.0.1:8080 -loops 0 [-backend auto|uring|epoll]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ringo-io/ringo/httpx"
	"github.com/ringo-io/ringo/reactor"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address host:port")
	loops := flag.Int("loops", 0, "event loops (0 = GOMAXPROCS)")
	backend := flag.String("backend", "", "reactor backend: auto, uring or epoll (default: $RINGO_BACKEND, else auto)")
	flag.Parse()
	if err := run(*addr, *loops, reactor.Backend(*backend)); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

// hello answers every request; it keeps nothing from the Ctx.
func hello(c *httpx.Ctx) {
	c.SetContentType("text/plain")
	c.WriteString("Hello, World!")
}

// newServer configures the server; an empty backend leaves the choice to
// $RINGO_BACKEND, else auto (reactor.WithBackend of "" forces nothing).
func newServer(loops int, backend reactor.Backend) *httpx.Server {
	opts := []reactor.Option{reactor.WithLoops(loops), reactor.WithBackend(backend)}
	return &httpx.Server{
		Handler:           httpx.HandlerFunc(hello),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		Reactor:           opts,
	}
}

func run(addr string, loops int, backend reactor.Backend) error {
	srv := newServer(loops, backend)
	if err := srv.Listen("tcp", addr); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(); err != httpx.ErrServerClosed {
		return err
	}
	return nil
}
