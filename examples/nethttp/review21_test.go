package main

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ringo-io/ringo/httpx"
	"github.com/ringo-io/ringo/reactor"
)

// reviewServer starts the example's server on one loop of b.
func reviewServer(t *testing.T, b reactor.Backend) string {
	t.Helper()
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
	t.Cleanup(func() { srv.Close() })
	return srv.Addr().String()
}

// TestReview21UpgradeHTTP10: RFC 9110 7.8, "a server MUST ignore an Upgrade header
// field that is received in an HTTP/1.0 request" (and 15.2: no 1xx to an
// HTTP/1.0 client). /upgrade switched protocols for one anyway.
func TestReview21UpgradeHTTP10(t *testing.T) {
	for _, b := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		t.Run(string(b), func(t *testing.T) {
			c, err := net.Dial("tcp", reviewServer(t, b))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /upgrade HTTP/1.0\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusUpgradeRequired {
				t.Fatalf("HTTP/1.0 request with Upgrade: echo: status %d, want %d (Upgrade ignored)", resp.StatusCode, http.StatusUpgradeRequired)
			}
		})
	}
}

// TestReview21UpgradeWithBody: an upgrade request with a body whose last bytes
// come after the head (net/http switches after the body, as RFC 9110 7.8 has
// it). The handler wrote 101 before Hijack, which FromHTTP refuses while the
// body is not all read: the client got "101 Switching Protocols" (with
// Connection: close) and an EOF, a switch that never happened.
func TestReview21UpgradeWithBody(t *testing.T) {
	for _, b := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		t.Run(string(b), func(t *testing.T) {
			c, err := net.Dial("tcp", reviewServer(t, b))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "POST /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: upgrade\r\nContent-Length: 5\r\n\r\n")
			time.Sleep(100 * time.Millisecond) // the head is handled before the body
			io.WriteString(c, "hello")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d, want 101", resp.StatusCode)
			}
			io.WriteString(c, "world")
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(br)
			if err != nil || string(got) != "world" {
				t.Fatalf("after the 101: %q, %v; want the echo %q, then EOF", got, err, "world")
			}
		})
	}
}
