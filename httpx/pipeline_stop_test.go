package httpx

// The fast path's stop for blocked output (engine.process): what it must keep working.

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// blockedMem is a memConn whose output is blocked (above the reactor's high-water mark).
type blockedMem struct{ *memConn }

func (blockedMem) writeBlocked() bool { return true }

// A request body accumulated in carry (a large POST arriving in pieces), followed by pipelined
// requests while the output is blocked: the engine stops and empties carry but keeps its
// capacity, so the idle connection (and the engine it gives back to the loop's free list, up to
// 256 of them per loop) holds a buffer the size of the body; savePartial drops a carry of more
// than 64 KiB that became empty ("do not keep a large buffer on an idle connection").
func TestStopKeepsLargeCarry(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	cfg := testConfig(HandlerFunc(func(c *Ctx) { c.WriteString(big) }))
	m := newMemConn(cfg)
	m.e.t = blockedMem{m}
	const bodyLen = 1 << 20
	body := strings.Repeat("b", bodyLen)
	req := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n" + body
	get := strings.Repeat("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 3)
	half := len(req) / 2
	if n := m.e.feed([]byte(req[:half])); n != half {
		t.Fatalf("first feed consumed %d of %d", n, half)
	}
	rest := req[half:] + get
	n := m.e.feed([]byte(rest))
	if want := len(rest) - len(get); n != want {
		t.Fatalf("second feed consumed %d, want %d (the GETs left for the reactor)", n, want)
	}
	if !m.e.releasable() {
		t.Fatalf("engine not releasable after the stop")
	}
	if c := cap(m.e.carry); c > 64<<10 {
		t.Fatalf("idle engine keeps a carry of capacity %d KiB after the stop", c>>10)
	}
}

// Pipelined requests of mixed kinds (GET with big and small responses, POST with bodies,
// chunked bodies, blank lines) sent in random pieces while the client reads slowly: every
// response is for its request, in order.
func TestPipelinedOrderStress(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			n, _ := strconv.Atoi(string(c.QueryArg("n")))
			c.SetHeader("X-Path", string(c.Path()))
			c.SetHeader("X-Body", strconv.Itoa(len(c.Body())))
			c.WriteString(strings.Repeat("y", n))
			if len(c.QueryArg("f")) > 0 {
				c.Flush()
			}
		}), Reactor: []reactor.Option{reactor.WithWriteWaterMarks(128<<10, 32<<10)}})
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		for round := 0; round < 10; round++ {
			c := dial(t, addr)
			var sb strings.Builder
			type want struct {
				path string
				n    int
				body int
			}
			var ws []want
			const nreq = 400
			for i := 0; i < nreq; i++ {
				n := rng.Intn(8) * 16 << 10
				if rng.Intn(3) == 0 {
					n = rng.Intn(100)
				}
				path := fmt.Sprintf("/r%d", i)
				f := ""
				if rng.Intn(5) == 0 {
					f = "&f=1"
				}
				if rng.Intn(10) == 0 {
					sb.WriteString("\r\n")
				}
				switch rng.Intn(3) {
				case 0:
					fmt.Fprintf(&sb, "GET %s?n=%d%s HTTP/1.1\r\nHost: a\r\n\r\n", path, n, f)
					ws = append(ws, want{path, n, 0})
				case 1:
					bl := rng.Intn(3000)
					fmt.Fprintf(&sb, "POST %s?n=%d%s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", path, n, f, bl, strings.Repeat("b", bl))
					ws = append(ws, want{path, n, bl})
				case 2:
					bl := 1 + rng.Intn(3000)
					fmt.Fprintf(&sb, "POST %s?n=%d%s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", path, n, f, bl, strings.Repeat("c", bl))
					ws = append(ws, want{path, n, bl})
				}
			}
			all := sb.String()
			errc := make(chan error, 1)
			go func() {
				for len(all) > 0 {
					k := min(len(all), 1+rng.Intn(20000))
					if _, err := io.WriteString(c, all[:k]); err != nil {
						errc <- err
						return
					}
					all = all[k:]
					if rng.Intn(4) == 0 {
						time.Sleep(time.Millisecond)
					}
				}
				errc <- nil
			}()
			time.Sleep(200 * time.Millisecond)
			br := bufio.NewReaderSize(c, 4096)
			for i, w := range ws {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("round %d response %d: %v", round, i, err)
				}
				k, err := io.Copy(io.Discard, resp.Body)
				if err != nil || int(k) != w.n || resp.Header.Get("X-Path") != w.path || resp.Header.Get("X-Body") != strconv.Itoa(w.body) {
					t.Fatalf("round %d response %d: status %d %d bytes (%v), path %q body %q, want %+v", round, i, resp.StatusCode, k, err, resp.Header.Get("X-Path"), resp.Header.Get("X-Body"), w)
				}
				if i%50 == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
	})
}

// The server pauses reading while a client's responses pile up (high-water mark); a pipelined
// request cut at the end of the last input the server read must not wait in the engine, where
// its ReadHeaderTimeout would run although the client sent the whole head long ago (closing the
// connection with responses still queued for it). net/http starts the next request's header
// timeout only once the previous response was written. Responses of 20 to 50 KiB reach the
// mark between the fast path's checks; 256 KiB ones at each request.
func TestReadHeaderTimeoutWhileServerPaused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		for _, tc := range []struct{ respSize, nreq int }{{20 << 10, 400}, {50 << 10, 400}, {256 << 10, 100}} {
			respSize, nreq := tc.respSize, tc.nreq
			big := strings.Repeat("x", respSize)
			addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
				c.WriteString(big)
			}), ReadHeaderTimeout: 300 * time.Millisecond})
			c := dial(t, addr)
			req := "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: "
			req += strings.Repeat("p", 1000-len(req)-4) + "\r\n\r\n"
			if _, err := io.WriteString(c, strings.Repeat(req, nreq)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			br := bufio.NewReaderSize(c, 1<<20)
			for i := 0; i < nreq; i++ {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("resp size %d: response %d of %d: %v", respSize, i, nreq, err)
				}
				if n, err := io.Copy(io.Discard, resp.Body); n != int64(respSize) || err != nil {
					t.Fatalf("resp size %d: response %d of %d: %d bytes, %v", respSize, i, nreq, n, err)
				}
			}
		}
	})
}

// A client that pipelines, reads nothing, then half-closes or resets: with requests kept in the
// reactor (output blocked) the connection still ends and is no longer counted.
func TestStopThenFinOrRst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		big := strings.Repeat("x", 64<<10)
		s := &Server{Handler: HandlerFunc(func(c *Ctx) { c.WriteString(big) })}
		addr := startServer(t, b, s)
		for _, mode := range []string{"rst", "fin-then-rst"} {
			c := dial(t, addr)
			io.WriteString(c, strings.Repeat("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 500))
			time.Sleep(300 * time.Millisecond)
			if mode == "fin-then-rst" {
				c.(*net.TCPConn).CloseWrite()
				time.Sleep(200 * time.Millisecond)
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			waitNoConns(t, s)
		}
	})
}

// Pipelined big responses, then an Upgrade request with the new protocol's bytes right behind
// it, from a client that reads nothing for a while: the engine stops before the Upgrade
// (output blocked); once the output drained, the Upgrade is served and the new protocol gets the
// bytes behind it.
func TestUpgradeAfterStop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		big := strings.Repeat("x", 64<<10)
		p := echoProto{closed: make(chan error, 1)}
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			if string(c.Path()) == "/ws" {
				c.SetHeader("Upgrade", "echo")
				c.Upgrade(p)
				return
			}
			c.WriteString(big)
		})})
		for _, nget := range []int{40, 100} {
			c := dial(t, addr)
			behind := "PAYLOAD-AFTER-UPGRADE"
			io.WriteString(c, strings.Repeat("GET / HTTP/1.1\r\nHost: a\r\n\r\n", nget)+wsRequest+behind)
			time.Sleep(500 * time.Millisecond)
			br := bufio.NewReaderSize(c, 1<<20)
			rs := readResponses(t, br, nget)
			for i, r := range rs {
				if s := bodyString(r); len(s) != len(big) {
					t.Fatalf("response %d: %d bytes", i, len(s))
				}
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 101 {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
			want := "greeting\n" + behind
			got := make([]byte, len(want))
			if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
				t.Fatalf("after the 101: %q, %v; want %q", got, err, want)
			}
			c.Close()
		}
	})
}
