package httpx

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// R16g: full duplex after the response started: the handler reads the body slowly; the pipe's
// unread bytes and its buffer stay bounded by high + extra (plus one read).
func TestFromHTTPHoldDuplexPipeBounded(t *testing.T) {
	type st struct{ maxHeld, maxCap, total int }
	res := make(chan st, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "go")
		w.(http.Flusher).Flush()
		p := r.Body.(*bodyPipe)
		var s st
		b := make([]byte, 4<<10)
		for {
			time.Sleep(200 * time.Microsecond)
			p.mu.Lock()
			s.maxHeld = max(s.maxHeld, len(p.buf)-p.off)
			s.maxCap = max(s.maxCap, cap(p.buf))
			p.mu.Unlock()
			n, err := r.Body.Read(b)
			s.total += n
			if err != nil {
				break
			}
		}
		res <- s
	})
	forEachBackend(t, func(t *testing.T, be reactor.Backend) {
		_, addr := adapterServer(t, be, h)
		c := rdial(t, addr)
		c.SetDeadline(time.Now().Add(60 * time.Second))
		br := bufio.NewReader(c)
		go func() {
			io.WriteString(c, "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := fmt.Sprintf("%x\r\n%s\r\n", 32<<10, strings.Repeat("u", 32<<10))
			for i := 0; i < 64; i++ {
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
			io.WriteString(c, "0\r\n\r\n")
		}()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		s := <-res
		t.Logf("total %d maxHeld %d maxCap %d", s.total, s.maxHeld, s.maxCap)
		if s.total != 64*32<<10 {
			t.Fatalf("read %d", s.total)
		}
		if s.maxHeld > 64<<10+maxHeldBody+128<<10 {
			t.Fatalf("pipe held %d", s.maxHeld)
		}
	})
}

// R16h: a Content-Length body of more than 256 KiB, most of it read by the handler, which then
// flushes its response and returns with less than 256 KiB to come: net/http discards the rest and
// keeps the connection (its response does not announce a close).
func TestFromHTTPHoldFlushedLargeCLRestKeepAlive(t *testing.T) {
	const total, first = 300 << 10, 250 << 10
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			io.ReadFull(r.Body, make([]byte, first))
		}
		io.WriteString(w, "ok")
		w.(http.Flusher).Flush()
	})
	bothServers(t, h, func(t *testing.T, addr string) {
		c := rdial(t, addr)
		br := bufio.NewReader(c)
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", total, strings.Repeat("a", first))
		time.Sleep(200 * time.Millisecond)
		io.WriteString(c, strings.Repeat("b", total-first)+"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		t.Logf("first %q close=%v", b, resp.Close)
		resp2, err := http.ReadResponse(br, nil)
		if err != nil && !resp.Close {
			t.Fatalf("second request on a connection kept by the response: %v", err)
		}
		if err == nil {
			io.ReadAll(resp2.Body)
		}
	})
}

// R16i: more than 256 KiB of a Content-Length body still to come when the handler flushes and
// returns: net/http's response says "Connection: close" (tooBig); FromHTTP's response says
// nothing and the connection closes.
func TestFromHTTPHoldFlushedHugeCLAnnouncesClose(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
		w.(http.Flusher).Flush()
	})
	bothServers(t, h, func(t *testing.T, addr string) {
		c := rdial(t, addr)
		br := bufio.NewReader(c)
		go fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", 1<<20, strings.Repeat("a", 1<<20))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		if !resp.Close {
			_, err := br.ReadByte()
			t.Fatalf("keep-alive response, then: %v", err)
		}
	})
}
