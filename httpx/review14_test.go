package httpx

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// The response timeouts and a panicking handler (session 14 review).

// TestWriteTimeoutTrickleReader: WriteTimeout closes "a connection whose queued response bytes
// are not all sent this long after they were queued". A client reading a large response at
// 320 KB/s, so that each byte waits in the server's queue (over 200 KiB) about 0.7 s, is cut off
// by a 300 ms WriteTimeout whether the response is one write (fast path) or streamed in 4 KiB
// pieces by a FromHTTP handler. The streamed one used to be served for ever: every piece moved
// the reactor's one write deadline (connTransport.write), and the reader made room for the
// next piece in time.
func TestWriteTimeoutTrickleReader(t *testing.T) {
	const size = 32 << 20
	big := bytes.Repeat([]byte("w"), size)
	var minQueued atomic.Int64 // the server's queue, least seen after the first second
	fromHTTP := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := w.(*responseWriter).ar.t.(*connTransport)
		smallSndbuf(ct.c.Fd())
		w.Header().Set("Content-Length", strconv.Itoa(size))
		start := time.Now()
		for off := 0; off < size; off += 4 << 10 {
			if _, err := w.Write(big[off : off+4<<10]); err != nil {
				return
			}
			if time.Since(start) > time.Second {
				ct.execute(func() {
					if q := int64(ct.c.Buffered()); q < minQueued.Load() {
						minQueued.Store(q)
					}
				})
			}
		}
	}))
	fast := HandlerFunc(func(c *Ctx) {
		smallSndbuf(c.e.t.(*connTransport).c.Fd())
		c.SetBody(big)
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		for _, tc := range []struct {
			name string
			h    Handler
		}{{"fast", fast}, {"fromhttp", fromHTTP}} {
			t.Run(tc.name, func(t *testing.T) {
				minQueued.Store(1 << 40)
				s := &Server{Handler: tc.h, WriteTimeout: 300 * time.Millisecond}
				addr := startServer(t, b, s)
				c := dialSmallRcvbuf(t, addr)
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				br := bufio.NewReaderSize(c, 4<<10)
				if _, err := http.ReadResponse(br, nil); err != nil {
					t.Fatal(err)
				}
				// Read 32 KiB every 100 ms (320 KB/s) for up to 4 s.
				start := time.Now()
				buf := make([]byte, 32<<10)
				var got int
				for time.Since(start) < 4*time.Second {
					if s.NumConns() == 0 {
						t.Logf("closed by the server after %v, %d bytes read", time.Since(start).Round(time.Millisecond), got)
						return
					}
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := io.ReadFull(br, buf)
					got += n
					if err != nil {
						t.Fatalf("read: %v", err)
					}
					time.Sleep(100 * time.Millisecond)
				}
				t.Fatalf("a client reading 320 KB/s of a %d-byte response is still served after %v "+
					"under a 300 ms WriteTimeout (%d bytes read; the server's queue never below %d bytes "+
					"after the first second)", size, time.Since(start).Round(time.Millisecond), got, minQueued.Load())
			})
		}
	})
}

// dialSmallRcvbuf connects to addr with a 4 KiB receive buffer, so that what the client does
// not read stays in the server's queue; closed when the test ends.
func dialSmallRcvbuf(t *testing.T, addr string) net.Conn {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10)
		})
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// smallSndbuf gives the server's socket the send buffer of a typical WAN connection (loopback
// autotunes it to megabytes), so that the server's own queue is what a slow reader fills.
func smallSndbuf(fd int) {
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
}

// TestWriteTimeoutStreamFastReader: the control for the fix: a reader that keeps up gets the
// whole streamed response under a WriteTimeout, however long the stream lasts (on epoll, 2.5 to
// 4.5 s for a 1 s timeout: the 32 KiB send buffer and delayed ACKs pace it; 300 ms was cut short
// once under a loaded machine, its reader starved of CPU).
func TestWriteTimeoutStreamFastReader(t *testing.T) {
	const size = 8 << 20
	big := bytes.Repeat([]byte("w"), 4<<10)
	h := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		smallSndbuf(w.(*responseWriter).ar.t.(*connTransport).c.Fd())
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for off := 0; off < size; off += len(big) {
			if _, err := w.Write(big); err != nil {
				return
			}
		}
	}))
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: h, WriteTimeout: time.Second}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if n != size || err != nil {
			t.Fatalf("got %d of %d bytes: %v", n, size, err)
		}
	})
}

// TestAdapterIdleAfterContinue: IdleTimeout bounds "a pause inside a body when ReadTimeout is
// zero (not while the client waits for 100 Continue)". On the FromHTTP path the idle timeout is
// suspended while the client waits for 100 Continue; it used to stay off after the handler's
// first Body.Read sent it, so a client that then stalled in its body held the connection and the
// handler for ever. Without "Expect: 100-continue" (the control) the same stall is cut off.
func TestAdapterIdleAfterContinue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{IdleTimeout: 200 * time.Millisecond, Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
		}))}
		addr := startServer(t, b, s)
		for _, expect := range []bool{false, true} {
			c := dial(t, addr)
			head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
			if expect {
				head += "Expect: 100-continue\r\n"
			}
			io.WriteString(c, head+"\r\n")
			br := bufio.NewReader(c)
			if expect {
				line, err := br.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
					t.Fatalf("no 100 Continue: %q %v", line, err)
				}
				br.ReadString('\n')
			}
			io.WriteString(c, "abc") // then the client stalls
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			start := time.Now()
			_, err := io.ReadAll(br)
			if err != nil {
				t.Fatalf("expect=%v: connection still open %v after the body stalled under a 200 ms "+
					"IdleTimeout and no ReadTimeout (%v)", expect, time.Since(start).Round(time.Millisecond), err)
			}
			t.Logf("expect=%v: closed after %v", expect, time.Since(start).Round(time.Millisecond))
			c.Close()
		}
	})
}

// TestAdapterPanicNotHeldForBody: a panicking handler's client gets a 500 and a close at once,
// with its chunked body still arriving. The 500 used to be held, as a returned handler's
// response is, until the body ended, though the connection closes after it anyway: a client
// that streams its body while waiting for the answer (Go's Transport) got nothing.
func TestAdapterPanicNotHeldForBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic("boom")
		}))}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no response 2 s after the handler panicked, body still open: %v", err)
		}
		if resp.StatusCode != 500 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// An HTTP/1.0 response made close-delimited by Flush, with a second request
// pipelined behind it at various delays: the client reads the whole body, then
// EOF. The reactor decided whether to linger when the close began; a request
// arriving after that sat unread at close(2), which reset the connection, and
// the client's read of the body failed (io_uring, where close(2) waits for the
// cancelled ops, in 1 to 4 of 320 connections; under load on epoll too).
func TestCloseDelimitedBodyLateRequest(t *testing.T) {
	big := strings.Repeat("x", 3000)
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, big)
			w.(http.Flusher).Flush()
			io.WriteString(w, "hello")
		}))
		want := big + "hello"
		fails, runs := 0, 0
		var first string
		byDelay := map[time.Duration]int{}
		for _, d := range []time.Duration{0, 20 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond,
			200 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond} {
			for range 40 {
				runs++
				c := dial(t, addr)
				io.WriteString(c, "GET /s HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n")
				if d > 0 {
					time.Sleep(d)
				}
				io.WriteString(c, "GET /s HTTP/1.0\r\nHost: h\r\nConnection: close\r\n\r\n")
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
				var got []byte
				if err == nil {
					got, err = io.ReadAll(resp.Body)
				}
				if err != nil || !bytes.Equal(got, []byte(want)) {
					fails++
					byDelay[d]++
					if first == "" {
						first = fmt.Sprintf("delay %v: err %v, body %d of %d bytes", d, err, len(got), len(want))
					}
				}
				c.Close()
			}
		}
		if fails > 0 {
			t.Fatalf("%d of %d responses not read whole (first: %s) by delay %v", fails, runs, first, byDelay)
		}
	})
}

// A FromHTTP handler streams 1 KiB every 10 ms (less than
// WriteTimeout/16 apart) to a client that reads nothing. Once the socket buffers are full (~0.2 s)
// every byte stays queued, so the 1 s WriteTimeout must close the connection about 1.2 s in, not
// only 1 s after the handler stops writing (it blocks once 256 KiB are queued, ~2.8 s in).
func TestWriteTimeoutSteadyWriter(t *testing.T) {
	piece := bytes.Repeat([]byte("w"), 1<<10)
	h := FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := w.(*responseWriter).ar.t.(*connTransport)
		syscall.SetsockoptInt(ct.c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4<<10)
		w.Header().Set("Content-Length", strconv.Itoa(1<<20))
		start := time.Now()
		for time.Since(start) < 5*time.Second {
			if _, err := w.Write(piece); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}))
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{Handler: h, WriteTimeout: time.Second}
		addr := startServer(t, b, s)
		c := dialSmallRcvbuf(t, addr)
		start := time.Now()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		for s.NumConns() == 0 && time.Since(start) < time.Second {
			time.Sleep(time.Millisecond)
		}
		for s.NumConns() > 0 && time.Since(start) < 8*time.Second {
			time.Sleep(5 * time.Millisecond)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("a client that reads nothing was served for %v under a 1 s WriteTimeout "+
				"(its socket buffers hold ~20 KiB, 0.2 s of the stream)", el.Round(time.Millisecond))
		} else {
			t.Logf("closed after %v", el.Round(time.Millisecond))
		}
	})
}
