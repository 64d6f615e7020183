// Command ringonethttp serves hello.Handler, the net/http peer's handler,
// through httpx.FromHTTP, with the timeouts of examples/hello.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ringo-io/ringo/bench/hello"
	"github.com/ringo-io/ringo/httpx"
	"github.com/ringo-io/ringo/reactor"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	backend := flag.String("backend", "", "reactor backend: auto, uring or epoll")
	flag.Parse()
	srv := &httpx.Server{
		Handler:           httpx.FromHTTP(hello.Handler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		Reactor:           []reactor.Option{reactor.WithBackend(reactor.Backend(*backend))},
	}
	if err := srv.Listen("tcp", *addr); err != nil {
		log.Fatal(err)
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
		log.Fatal(err)
	}
}
