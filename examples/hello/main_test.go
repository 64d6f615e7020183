package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/httpx"
	"github.com/ringo-io/ringo/reactor"
)

func TestHello(t *testing.T) {
	for _, b := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		t.Run(string(b), func(t *testing.T) {
			srv := &httpx.Server{
				Handler: httpx.HandlerFunc(hello),
				Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
				Reactor: []reactor.Option{reactor.WithBackend(b), reactor.WithLoops(1)},
			}
			if err := srv.Listen("tcp", "127.0.0.1:0"); err != nil {
				t.Skipf("backend %s: %v", b, err)
			}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			for _, m := range []string{"GET", "POST", "DELETE"} {
				req, _ := http.NewRequest(m, "http://"+srv.Addr().String()+"/any/path", nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "Hello, World!" || resp.Header.Get("Content-Type") != "text/plain" {
					t.Fatalf("%s: %d %q", m, resp.StatusCode, body)
				}
			}
		})
	}
}

// TestBackendFromEnv: without -backend the example leaves the choice to
// RINGO_BACKEND, the README's way to force a backend (reactor.WithBackend
// of the empty flag forces nothing; its own test covers the flag winning).
func TestBackendFromEnv(t *testing.T) {
	t.Setenv(reactor.EnvBackend, "epoll")
	srv := newServer(1, "")
	srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := srv.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if got := srv.Backend(); got != reactor.BackendEpoll {
		t.Fatalf("no -backend, %s=epoll: backend %s", reactor.EnvBackend, got)
	}
}
