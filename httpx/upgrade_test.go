package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// echoProto is a protocol a fast-path handler upgrades to: it greets, echoes what it reads,
// answers "boom" with a panic, and closes at the client's EOF.
type echoProto struct{ closed chan error }

func (p echoProto) OnOpen(c *reactor.Conn) { c.Write([]byte("greeting\n")) }

func (p echoProto) OnData(c *reactor.Conn, d []byte) int {
	if bytes.Equal(d, []byte("boom")) {
		panic("boom")
	}
	c.Write(d)
	return len(d)
}

func (p echoProto) OnReadEOF(c *reactor.Conn) { c.Close() }

func (p echoProto) OnClose(c *reactor.Conn, err error) {
	select {
	case p.closed <- err:
	default:
	}
}

// upgradeServer serves /ws by upgrading to echoProto (426 with the error when Upgrade refuses),
// /cancel by upgrading and then answering 200 instead, and anything else with "hello".
func upgradeServer(t *testing.T, b reactor.Backend, p echoProto) (*Server, string) {
	srv := &Server{Handler: HandlerFunc(func(c *Ctx) {
		switch string(c.Path()) {
		case "/ws", "/cancel":
			c.SetHeader("Upgrade", "echo")
			if err := c.Upgrade(p); err != nil {
				c.SetStatus(http.StatusUpgradeRequired)
				c.WriteString(err.Error())
				return
			}
			if string(c.Path()) == "/cancel" {
				c.SetStatus(200)
				c.WriteString("not upgraded")
			}
		default:
			c.WriteString("hello")
		}
	}), ReadHeaderTimeout: time.Second, IdleTimeout: time.Second}
	return srv, startServer(t, b, srv)
}

const wsRequest = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"

// TestUpgrade: the 101 goes out with Connection: Upgrade and no framing, then the new
// protocol greets and gets at once the bytes sent behind the request (an HTTP request among
// them, which is not parsed), then 4 MiB both ways; the Server's timeouts no longer apply; the
// client's half-close reaches the protocol, and the connection count returns to zero.
func TestUpgrade(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		p := echoProto{closed: make(chan error, 1)}
		srv, addr := upgradeServer(t, b, p)
		c := dial(t, addr)
		behind := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
		io.WriteString(c, wsRequest+behind)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 101 || resp.Header.Get("Connection") != "Upgrade" || resp.Header.Get("Upgrade") != "echo" ||
			resp.Header.Get("Content-Length") != "" || len(resp.TransferEncoding) > 0 {
			t.Fatalf("upgrade response: %d %v %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
		}
		want := "greeting\n" + behind
		got := make([]byte, len(want))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
			t.Fatalf("after the 101: %q, %v; want %q", got, err, want)
		}
		time.Sleep(1500 * time.Millisecond) // past the Server's idle and header timeouts
		echoUntilEOF(t, c, br, bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16))
		select {
		case err := <-p.closed:
			if err != nil {
				t.Fatalf("OnClose: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the protocol's OnClose did not run")
		}
		waitNoConns(t, srv)
	})
}

// TestUpgradeRefused: no upgrade for HTTP/1.0 or a request that closes the connection
// (Upgrade returns ErrUpgrade and the handler answers), and a SetStatus after Upgrade answers
// normally and keeps HTTP on the connection.
func TestUpgradeRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := upgradeServer(t, b, echoProto{closed: make(chan error, 1)})
		for _, req := range []string{
			"GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
			"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close, Upgrade\r\nUpgrade: echo\r\n\r\n",
		} {
			c := dial(t, addr)
			io.WriteString(c, req)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(string(body), ErrUpgrade.Error()) {
				t.Fatalf("%q: %d %q", req, resp.StatusCode, body)
			}
		}
		c := dial(t, addr)
		io.WriteString(c, "GET /cancel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		for _, want := range []string{"not upgraded", "hello"} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != want || resp.Header.Get("Connection") != "" {
				t.Fatalf("%d %q %v, want 200 %q", resp.StatusCode, body, resp.Header, want)
			}
		}
	})
}

// TestUpgradePanic: a panic in the protocol closes only its connection.
func TestUpgradePanic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		p := echoProto{closed: make(chan error, 1)}
		srv, addr := upgradeServer(t, b, p)
		other := dial(t, addr)
		io.WriteString(other, wsRequest)
		obr := bufio.NewReader(other)
		if resp, err := http.ReadResponse(obr, nil); err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		c := dial(t, addr)
		io.WriteString(c, wsRequest)
		br := bufio.NewReader(c)
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		br.ReadString('\n') // greeting
		io.WriteString(c, "boom")
		select {
		case err := <-p.closed:
			if !errors.Is(err, reactor.ErrHandlerPanic) {
				t.Fatalf("OnClose: %v, want ErrHandlerPanic", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the panicking connection was not closed")
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Fatalf("after the panic: %q, %v; want EOF", rest, err)
		}
		obr.ReadString('\n') // greeting
		io.WriteString(other, "still here")
		got := make([]byte, len("still here"))
		if _, err := io.ReadFull(obr, got); err != nil || string(got) != "still here" {
			t.Fatalf("the other connection: %q, %v", got, err)
		}
		other.Close()
		waitNoConns(t, srv)
	})
}

func waitNoConns(t *testing.T, srv *Server) {
	t.Helper()
	for i := 0; srv.NumConns() != 0; i++ {
		if i == 500 {
			t.Fatalf("%d connections still counted", srv.NumConns())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
