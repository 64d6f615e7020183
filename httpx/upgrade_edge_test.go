package httpx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// Edge cases of Ctx.Upgrade; the first review of it wrote most of them.

// upgradeAll upgrades every request to p, except /a (answered "A") and /big (4 MiB).
func upgradeAll(t *testing.T, b reactor.Backend, p reactor.Handler) (*Server, string) {
	big := strings.Repeat("z", 4<<20)
	srv := &Server{Handler: HandlerFunc(func(c *Ctx) {
		switch string(c.Path()) {
		case "/a":
			c.WriteString("A")
		case "/big":
			c.WriteString(big)
		default:
			c.SetHeader("Upgrade", "echo")
			c.Upgrade(p)
		}
	})}
	return srv, startServer(t, b, srv)
}

// readUntil reads from r until what it read ends with suffix (or the deadline passes).
func readUntil(t *testing.T, r io.Reader, suffix string) []byte {
	t.Helper()
	var all []byte
	buf := make([]byte, 64<<10)
	for !bytes.HasSuffix(all, []byte(suffix)) {
		n, err := r.Read(buf)
		all = append(all, buf[:n]...)
		if err != nil {
			t.Fatalf("read %q: %v; want it to end with %q", all, err, suffix)
		}
	}
	return all
}

// TestUpgradeSplits: however the upgrade request arrives (a body split across reads, chunked
// with trailers, blank lines first, Expect: 100-continue, byte by byte, behind a pipelined
// request), exactly the bytes after it reach the protocol, and one 101 goes out.
func TestUpgradeSplits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := upgradeAll(t, b, echoProto{closed: make(chan error, 1)})
		cases := map[string][]string{
			"length":   {"POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234", "56789behind"},
			"chunked":  {"POST /ws HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc", "de\r\n3\r\nfgh\r\n0\r\n", "\r\nbehind"},
			"trailers": {"POST /ws HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\nX-T: 1\r\n", "\r\nbehind"},
			"blank":    {"\r", "\n\r\n", "GET /ws HTTP/1.1\r\nHost: x\r\n\r\nbehind"},
			"expect":   {"POST /ws HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", "abcbehind"},
			"behind":   {"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /ws HTTP/1.1\r\nHo", "st: x\r\n\r\nbehind"},
			"split":    {"GET /a HTTP/1.1\r\nHo", "st: x\r\n\r\nGET /ws HTTP/1.1\r\nHost: x\r\n\r\nbehind"},
		}
		for _, ch := range "POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabbehind" {
			cases["bytewise"] = append(cases["bytewise"], string(ch))
		}
		for name, parts := range cases {
			t.Run(name, func(t *testing.T) {
				c := dial(t, addr)
				for _, s := range parts {
					io.WriteString(c, s)
					time.Sleep(5 * time.Millisecond)
				}
				all := readUntil(t, c, "greeting\nbehind")
				if bytes.Count(all, []byte("HTTP/1.1 101 ")) != 1 {
					t.Fatalf("got %q", all)
				}
			})
		}
	})
}

// TestUpgradeBodyAcrossWindows: bodies around the reactor's 64 KiB input window, with 300 KiB
// for the protocol behind them in the same write, and the client's EOF after it.
func TestUpgradeBodyAcrossWindows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		srv, addr := upgradeAll(t, b, echoProto{closed: make(chan error, 1)})
		for _, n := range []int{100 << 10, 60 << 10, 64<<10 - 60} {
			c := dial(t, addr)
			behind := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16)
			req := "POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n" + strings.Repeat("b", n)
			go func() {
				c.Write(append([]byte(req), behind...))
				c.(interface{ CloseWrite() error }).CloseWrite()
			}()
			br := bufio.NewReader(c)
			if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
				t.Fatal(resp, err)
			}
			all, err := io.ReadAll(br)
			if err != nil || string(all) != "greeting\n"+string(behind) {
				t.Fatalf("body of %d: %d bytes after the 101, %v", n, len(all), err)
			}
		}
		waitNoConns(t, srv)
	})
}

// TestUpgradeBehindBigResponse: a 4 MiB response queued before the 101 pauses reading at the
// switch; the bytes behind the upgrade request reach the protocol once it resumes.
func TestUpgradeBehindBigResponse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := upgradeAll(t, b, echoProto{closed: make(chan error, 1)})
		c := dial(t, addr)
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"+wsRequest+"behind")
		time.Sleep(200 * time.Millisecond)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := io.Copy(io.Discard, resp.Body); n != 4<<20 {
			t.Fatalf("big response: %d bytes", n)
		}
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
			t.Fatal(resp, err)
		}
		readUntil(t, br, "greeting\nbehind")
		io.WriteString(c, "more")
		readUntil(t, br, "more")
	})
}

// delegating hands the connection on to next with SetHandler at its first input.
type delegating struct{ next echoProto }

func (d delegating) OnOpen(c *reactor.Conn) {}
func (d delegating) OnData(c *reactor.Conn, b []byte) int {
	c.SetHandler(d.next)
	return 0
}
func (d delegating) OnClose(c *reactor.Conn, err error) {}

// TestUpgradeHandedOn: a protocol that hands the connection on (SetHandler) leaves the count
// right: it returns to zero when the connection closes (a review found it stuck at one).
func TestUpgradeHandedOn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		next := echoProto{closed: make(chan error, 1)}
		srv, addr := upgradeAll(t, b, delegating{next})
		c := dial(t, addr)
		io.WriteString(c, wsRequest+"x")
		br := bufio.NewReader(c)
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
			t.Fatal(resp, err)
		}
		readUntil(t, br, "x")
		c.Close()
		select {
		case <-next.closed:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnClose")
		}
		waitNoConns(t, srv)
	})
}

type closeOnOpen struct{ closed chan error }

func (p closeOnOpen) OnOpen(c *reactor.Conn)               { c.Write([]byte("bye")); c.Close() }
func (p closeOnOpen) OnData(c *reactor.Conn, d []byte) int { panic("OnData after Close") }
func (p closeOnOpen) OnClose(c *reactor.Conn, err error)   { p.closed <- err }

// TestUpgradeEnds: a protocol that closes in OnOpen (its output still goes out, no OnData
// follows), the client's EOF in the packet of the request, and Shutdown, which waits for an
// upgraded connection until its context ends and then closes it.
func TestUpgradeEnds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		t.Run("close in OnOpen", func(t *testing.T) {
			p := closeOnOpen{closed: make(chan error, 1)}
			srv, addr := upgradeAll(t, b, p)
			c := dial(t, addr)
			io.WriteString(c, wsRequest+"behind")
			all, _ := io.ReadAll(c)
			if !strings.HasSuffix(string(all), "\r\n\r\nbye") {
				t.Fatalf("%q", all)
			}
			if err := <-p.closed; err != nil {
				t.Fatal(err)
			}
			waitNoConns(t, srv)
		})
		t.Run("EOF behind", func(t *testing.T) {
			p := echoProto{closed: make(chan error, 1)}
			srv, addr := upgradeAll(t, b, p)
			c := dial(t, addr)
			io.WriteString(c, wsRequest+"behind")
			c.(interface{ CloseWrite() error }).CloseWrite()
			all, _ := io.ReadAll(c)
			if !strings.HasSuffix(string(all), "greeting\nbehind") {
				t.Fatalf("%q", all)
			}
			if err := <-p.closed; err != nil {
				t.Fatal(err)
			}
			waitNoConns(t, srv)
		})
		t.Run("Shutdown", func(t *testing.T) {
			p := echoProto{closed: make(chan error, 1)}
			srv, addr := upgradeAll(t, b, p)
			c := dial(t, addr)
			io.WriteString(c, wsRequest)
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 101 {
				t.Fatal(resp, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown: %v, want it to wait for the upgraded conn until its context ends", err)
			}
			select {
			case err := <-p.closed:
				if err == nil {
					t.Fatal("OnClose without the close's error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no OnClose")
			}
			waitNoConns(t, srv)
		})
	})
}

// TestUpgradeIgnoresLaterClose: a "Connection: close" set after Upgrade does not turn the 101
// into one that closes (a review found that it did).
func TestUpgradeIgnoresLaterClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		p := echoProto{closed: make(chan error, 1)}
		srv := &Server{Handler: HandlerFunc(func(c *Ctx) {
			c.SetHeader("Upgrade", "echo")
			c.Upgrade(p)
			c.SetHeader("Connection", "close")
			c.SetConnectionClose()
		})}
		c := dial(t, startServer(t, b, srv))
		io.WriteString(c, wsRequest)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 || resp.Header.Get("Connection") != "Upgrade" {
			t.Fatalf("%v %v", resp, err)
		}
		readUntil(t, br, "greeting\n")
	})
}

// TestUpgradeReleasesCarry: the engine an upgraded connection gives back does not keep the
// large buffer a request body split across reads needed (a review found 1 MiB kept).
func TestUpgradeReleasesCarry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		srv, addr := upgradeAll(t, b, echoProto{closed: make(chan error, 1)})
		c := dial(t, addr)
		body := strings.Repeat("b", 1<<20)
		io.WriteString(c, "POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n"+body[:1000])
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, body[1000:])
		br := bufio.NewReader(c)
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
			t.Fatal(resp, err)
		}
		readUntil(t, br, "greeting\n")
		for i, l := range srv.rs.Loops() {
			got := make(chan int, 1)
			l.Execute(func() { // the free lists are the loop's
				most := 0
				for _, e := range srv.free[i] {
					most = max(most, cap(e.carry))
				}
				got <- most
			})
			if n := <-got; n > 64<<10 {
				t.Fatalf("loop %d: a free engine keeps a %d-byte carry", i, n)
			}
		}
	})
}
