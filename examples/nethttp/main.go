// Command nethttp serves a standard http.ServeMux through httpx.FromHTTP:
//
//	/      200 "Hello, World!"
//	/json  a small JSON document
//	/echo  streams the request body back (chunked), flushing as it goes
//	/upgrade  with "Upgrade: echo": 101 Switching Protocols, then the connection
//	       (hijacked with http.Hijacker) echoes what it receives until the client's EOF
//
//	nethttp -addr 127.0.0.1:8080 -loops 0 [-backend auto|uring|epoll]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
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
		fmt.Fprintln(os.Stderr, "nethttp:", err)
		os.Exit(1)
	}
}

// newMux returns the example's routes.
func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"message": "Hello, World!", "method": r.Method, "path": r.URL.Path})
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		f, _ := w.(http.Flusher)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				if f != nil {
					f.Flush()
				}
			}
			if err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/upgrade", func(w http.ResponseWriter, r *http.Request) {
		// An HTTP/1.0 request's Upgrade is ignored (RFC 9110 7.8).
		if !r.ProtoAtLeast(1, 1) || !strings.EqualFold(r.Header.Get("Upgrade"), "echo") {
			w.Header().Set("Upgrade", "echo")
			http.Error(w, "this resource speaks the echo protocol", http.StatusUpgradeRequired)
			return
		}
		// The protocol switches after the request's body (FromHTTP hijacks only
		// once it is all read), so the 101 is not sent for a switch that fails.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "echo")
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(time.Minute))
		io.Copy(conn, brw.Reader)
	})
	return mux
}

// newServer configures the server; an empty backend leaves the choice to
// $RINGO_BACKEND, else auto (reactor.WithBackend of "" forces nothing).
func newServer(loops int, backend reactor.Backend) *httpx.Server {
	opts := []reactor.Option{reactor.WithLoops(loops), reactor.WithBackend(backend)}
	return &httpx.Server{
		Handler:           httpx.FromHTTP(newMux()),
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
