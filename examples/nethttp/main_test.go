package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/httpx"
	"github.com/ringo-io/ringo/reactor"
)

func TestRoutes(t *testing.T) {
	for _, b := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		t.Run(string(b), func(t *testing.T) {
			srv := &httpx.Server{
				Handler: httpx.FromHTTP(newMux()),
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
			base := "http://" + srv.Addr().String()

			get := func(path string) (*http.Response, []byte) {
				resp, err := client.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp, body
			}
			if resp, body := get("/"); resp.StatusCode != 200 || string(body) != "Hello, World!" {
				t.Fatalf("/: %d %q", resp.StatusCode, body)
			}
			if resp, _ := get("/nope"); resp.StatusCode != 404 {
				t.Fatalf("/nope: %d", resp.StatusCode)
			}
			resp, body := get("/json")
			var doc map[string]string
			if err := json.Unmarshal(body, &doc); err != nil || doc["message"] != "Hello, World!" ||
				resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("/json: %q %v", body, err)
			}
			payload := bytes.Repeat([]byte("echo!"), 100000)
			pr, pw := io.Pipe()
			go func() {
				for off := 0; off < len(payload); off += 7000 {
					pw.Write(payload[off:min(off+7000, len(payload))])
				}
				pw.Close()
			}()
			resp, err := client.Post(base+"/echo", "application/octet-stream", pr)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if !bytes.Equal(got, payload) {
				t.Fatalf("/echo returned %d bytes, want %d", len(got), len(payload))
			}

			// /upgrade through net/http's client, which hands over a 101's connection as the
			// response Body (an io.ReadWriteCloser; not with Client.Timeout, which wraps it).
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/upgrade", nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "echo")
			resp, err = (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			rwc, ok := resp.Body.(io.ReadWriteCloser)
			if resp.StatusCode != 101 || !ok {
				t.Fatalf("/upgrade: %d, body %T", resp.StatusCode, resp.Body)
			}
			defer rwc.Close()
			for _, msg := range []string{"one\n", "two, longer\n"} {
				io.WriteString(rwc, msg)
				back := make([]byte, len(msg))
				if _, err := io.ReadFull(rwc, back); err != nil || string(back) != msg {
					t.Fatalf("/upgrade echoed %q, %v; want %q", back, err, msg)
				}
			}
			if resp, _ := get("/upgrade"); resp.StatusCode != http.StatusUpgradeRequired {
				t.Fatalf("/upgrade without Upgrade: %d", resp.StatusCode)
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
