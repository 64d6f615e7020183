package httpx

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

const upgradeRequest = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"

// upgradeEcho answers with 101 (WriteHeader, then Hijack, as coder/websocket does) and echoes
// what it reads until the peer's EOF, then closes. Errors go to errs.
func upgradeEcho(errs chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "echo")
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			errs <- err
			return
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrHijacked) {
			errs <- errors.New("Write after Hijack: " + errString(err))
		}
		if _, _, err := w.(http.Hijacker).Hijack(); !errors.Is(err, http.ErrHijacked) {
			errs <- errors.New("second Hijack: " + errString(err))
		}
		// The conn outlives the handler, as with net/http.
		go func() {
			defer conn.Close()
			_, err := io.Copy(conn, brw.Reader)
			errs <- err
		}()
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestAdapterHijackEcho: a handler upgrades the connection and echoes 4 MiB both ways (more
// than the inbox holds and than the write queue takes, so both directions are paced), then the
// client half-closes and reads to EOF. The bytes sent right behind the request reach the
// hijacked conn first; the 101 goes out with Date and the handler's fields, without framing.
func TestAdapterHijackEcho(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		errs := make(chan error, 8)
		_, addr := adapterServer(t, b, upgradeEcho(errs), WithBodyBuffer(16<<10))
		c := dial(t, addr)
		first := "first bytes behind the request\n"
		io.WriteString(c, upgradeRequest+first)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "echo" || resp.Header.Get("Connection") != "Upgrade" || resp.Header.Get("Date") == "" ||
			resp.Header.Get("Content-Length") != "" || len(resp.TransferEncoding) > 0 {
			t.Fatalf("upgrade response %d %v %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
		}
		line, err := br.ReadString('\n')
		if err != nil || line != first {
			t.Fatalf("first echo %q, %v", line, err)
		}
		echoUntilEOF(t, c, br, bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz\n"), 4<<20/37))
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the echo goroutine did not end")
		}
	})
}

// TestAdapterHijackRaw: Hijack without a header (gorilla/websocket's way: the handler writes
// the response itself); the request's Context ends when the handler returns, the conn does not.
func TestAdapterHijackRaw(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		ctxDone := make(chan error, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			go func() {
				select {
				case <-r.Context().Done():
					ctxDone <- nil
				case <-time.After(10 * time.Second):
					ctxDone <- errors.New("request Context not done after the handler returned")
				}
				io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\n\r\nhello")
				buf := make([]byte, 16)
				n, err := conn.Read(buf)
				io.WriteString(conn, strings.ToUpper(string(buf[:n])))
				if _, err = conn.Read(buf); err != io.EOF {
					io.WriteString(conn, "want EOF, got "+errString(err))
				}
				conn.Close()
			}()
		}))
		c := dial(t, addr)
		io.WriteString(c, upgradeRequest)
		if err := <-ctxDone; err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("%v %v", resp, err)
		}
		hello := make([]byte, 5)
		if _, err := io.ReadFull(br, hello); err != nil || string(hello) != "hello" {
			t.Fatalf("%q %v", hello, err)
		}
		io.WriteString(c, "abc")
		c.(*net.TCPConn).CloseWrite()
		rest, err := io.ReadAll(br)
		if err != nil || string(rest) != "ABC" {
			t.Fatalf("after hello: %q, %v", rest, err)
		}
	})
}

// TestAdapterHijackDeadlines: read and write deadlines of the hijacked conn, including one set
// from another goroutine while a Read waits, and the Server's idle timeout no longer applying.
func TestAdapterHijackDeadlines(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		result := make(chan string, 1)
		s := &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				result <- err.Error()
				return
			}
			defer conn.Close()
			buf := make([]byte, 8)
			conn.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			if _, err := conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
				result <- "first Read: " + errString(err)
				return
			}
			var ne net.Error
			conn.SetReadDeadline(time.Time{})
			go func() {
				time.Sleep(30 * time.Millisecond)
				conn.SetReadDeadline(time.Now())
			}()
			if _, err := conn.Read(buf); !errors.As(err, &ne) || !ne.Timeout() {
				result <- "Read woken by a deadline: " + errString(err)
				return
			}
			conn.SetReadDeadline(time.Time{})
			time.Sleep(150 * time.Millisecond) // past the Server's idle timeout
			io.WriteString(conn, "ready")
			n, err := io.ReadFull(conn, buf[:4])
			if err != nil {
				result <- "Read after the deadlines: " + errString(err)
				return
			}
			conn.SetWriteDeadline(time.Now().Add(-time.Second))
			if _, err := conn.Write(buf[:n]); !errors.Is(err, os.ErrDeadlineExceeded) {
				result <- "Write past its deadline: " + errString(err)
				return
			}
			conn.SetWriteDeadline(time.Time{})
			conn.Write(buf[:n])
			result <- ""
		})), IdleTimeout: 50 * time.Millisecond}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		io.WriteString(c, upgradeRequest)
		ready := make([]byte, 5)
		if _, err := io.ReadFull(c, ready); err != nil || string(ready) != "ready" {
			t.Fatalf("%q %v", ready, err)
		}
		io.WriteString(c, "ping")
		if r := <-result; r != "" {
			t.Fatal(r)
		}
		echo, err := io.ReadAll(c)
		if err != nil || string(echo) != "ping" {
			t.Fatalf("%q %v", echo, err)
		}
	})
}

// TestAdapterHijackBodyPending: Hijack with the request body still to come fails, and the
// handler can still answer over HTTP.
func TestAdapterHijackBodyPending(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _, err := w.(http.Hijacker).Hijack()
			body, _ := io.ReadAll(r.Body)
			io.WriteString(w, errString(err)+" "+string(body))
		}))
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, "hello")
		rs := readResponses(t, bufio.NewReader(c), 1)
		if got := bodyString(rs[0]); got != errHijackBody.Error()+" hello" {
			t.Fatalf("body %q", got)
		}
	})
}

// TestAdapterHijackServerClose: Server.Close ends a hijacked conn whose handler waits in Read;
// Shutdown waits for a hijacked conn until its context ends.
func TestAdapterHijackServerClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		readErr := make(chan error, 1)
		s, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				readErr <- err
				return
			}
			io.WriteString(conn, "in")
			_, err = conn.Read(make([]byte, 1))
			readErr <- err
		}))
		c := dial(t, addr)
		io.WriteString(c, upgradeRequest)
		in := make([]byte, 2)
		if _, err := io.ReadFull(c, in); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a hijacked conn open: %v, want the context's error", err)
		}
		select {
		case err := <-readErr:
			if err == nil {
				t.Fatal("Read returned no error after the server closed")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Read still blocked after the server closed")
		}
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Fatalf("client read: %v", err)
		}
	})
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "reset")
}

// TestAdapterFullDuplex: with EnableFullDuplex a handler answers each line of a chunked body
// as it arrives; the client sends the next line only after reading the answer to the last.
func TestAdapterFullDuplex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if err := rc.EnableFullDuplex(); err != nil {
				t.Error(err)
				return
			}
			sc := bufio.NewScanner(r.Body)
			for sc.Scan() {
				io.WriteString(w, strings.ToUpper(sc.Text())+"\n")
				if err := rc.Flush(); err != nil {
					return
				}
			}
		}))
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		br := bufio.NewReader(c)
		var resp *http.Response
		for i, word := range []string{"alpha", "beta", "gamma"} {
			fmt.Fprintf(c, "%x\r\n%s\n\r\n", len(word)+1, word)
			if i == 0 {
				var err error
				if resp, err = http.ReadResponse(br, nil); err != nil {
					t.Fatal(err)
				}
			}
			line := make([]byte, 64)
			n, err := io.ReadAtLeast(resp.Body, line, len(word)+1)
			if err != nil || string(line[:n]) != strings.ToUpper(word)+"\n" {
				t.Fatalf("answer to %q: %q, %v", word, line[:n], err)
			}
		}
		io.WriteString(c, "0\r\n\r\n")
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
			t.Fatalf("after the body: %q, %v", rest, err)
		}
	})
}

// TestAdapterHijackWriteSmallQueue: with a small AsyncWrite limit a Write waits for the queue
// again and again; each wait ends (review finding: the loop reported progress before it
// published the smaller queue, so a retried Write could be refused with nothing left to wake it).
func TestAdapterHijackWriteSmallQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const total = 32 << 20
		progress := make(chan int, 1<<16)
		s := &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			buf := make([]byte, 1<<10)
			for sent := 0; sent < total; sent += len(buf) {
				if _, err := conn.Write(buf); err != nil {
					return
				}
				select {
				case progress <- sent:
				default:
				}
			}
			close(progress)
		})), Reactor: []reactor.Option{reactor.WithAsyncWriteLimit(2 << 10)}}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		io.WriteString(c, upgradeRequest)
		go io.Copy(io.Discard, c)
		last := 0
		for {
			select {
			case n, ok := <-progress:
				if !ok {
					return
				}
				last = n
			case <-time.After(5 * time.Second):
				t.Fatalf("Write blocked for 5 s after %d bytes, with the client reading", last)
			}
		}
	})
}

// TestAdapterHijackInboxBounded: a reader slower than the network keeps the inbox near its
// mark; it does not grow with the stream (review finding: read bytes were dropped only when a
// Read emptied it).
func TestAdapterHijackInboxBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const total = 8 << 20
		res := make(chan int, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nc, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				res <- -1
				return
			}
			defer nc.Close()
			h := nc.(*hijacked).hijackConn
			buf := make([]byte, 512)
			got, maxCap := 0, 0
			for got < total {
				n, err := h.Read(buf)
				got += n
				if err != nil {
					break
				}
				if got%(4<<10) == 0 {
					time.Sleep(20 * time.Microsecond) // slower than the network
				}
				h.mu.Lock()
				maxCap = max(maxCap, cap(h.buf))
				h.mu.Unlock()
			}
			res <- maxCap
		}))
		c := dial(t, addr)
		io.WriteString(c, upgradeRequest)
		go io.Copy(c, io.LimitReader(zeros{}, total))
		if m := <-res; m < 0 || m > 4*(64<<10) {
			t.Fatalf("inbox capacity %d B for at most 64 KiB unread", m)
		}
	})
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// TestDeadlineMovedAsItFires: a deadline cleared right as its timer fires stays cleared
// (review finding: the timer's func, already waiting for the lock, closed the new channel).
func TestDeadlineMovedAsItFires(t *testing.T) {
	var d deadline
	d.init()
	bad := 0
	for i := 0; i < 1000; i++ {
		d.set(time.Now().Add(20 * time.Microsecond))
		time.Sleep(20 * time.Microsecond)
		d.set(time.Time{})
		time.Sleep(50 * time.Microsecond)
		if d.passed() {
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of 1000 cleared deadlines read as passed", bad)
	}
}

// TestAdapterHijackCloseStalledClient: Close of a hijacked conn whose client stopped reading
// drops it once the write deadline passes, instead of keeping it and its queue forever.
func TestAdapterHijackCloseStalledClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		closed := make(chan error, 1)
		s := &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				closed <- err
				return
			}
			conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			_, err = conn.Write(make([]byte, 64<<20))
			conn.Close()
			closed <- err
		}))}
		addr := startServer(t, b, s)
		c := dial(t, addr)
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		io.WriteString(c, upgradeRequest) // and never read
		if err := <-closed; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write to a stalled client: %v, want the deadline", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for s.NumConns() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d connection(s) still open 5 s after Close", s.NumConns())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestAdapterHijackClientResets: clients that reset while their handler calls Hijack leave
// no loop panic in the log (review finding: Hijack's loop func sent on the closed ack channel).
func TestAdapterHijackClientResets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		var logs soakLogBuf
		started := make(chan chan struct{})
		s := &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g := make(chan struct{})
			started <- g
			<-g
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
		})), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		addr := startServer(t, b, s)
		for i := 0; i < 200; i++ {
			c := dial(t, addr)
			io.WriteString(c, upgradeRequest)
			g := <-started
			c.(*net.TCPConn).SetLinger(0)
			go c.Close()
			time.Sleep(time.Duration(i%20) * 5 * time.Microsecond)
			close(g)
		}
		if n := logs.count("panic"); n > 0 {
			t.Fatalf("%d loop panics logged", n)
		}
	})
}

// TestAdapterHijackContextLasts: the request's Context of a hijacker lasts until its handler
// returns, also after the conn closed (its own Close, or the client's reset), as in net/http.
func TestAdapterHijackContextLasts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		res := make(chan error, 1)
		after := make(chan context.Context, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				res <- err
				return
			}
			io.WriteString(conn, "bye")
			conn.Close()
			time.Sleep(100 * time.Millisecond) // a call that uses r.Context()
			res <- r.Context().Err()
			after <- r.Context()
		}))
		c := dial(t, addr)
		io.WriteString(c, upgradeRequest)
		io.ReadAll(c)
		if err := <-res; err != nil {
			t.Fatalf("r.Context() before the handler returned: %v", err)
		}
		select {
		case <-(<-after).Done():
		case <-time.After(10 * time.Second):
			t.Fatal("r.Context() not done after the handler returned")
		}
	})
}

// TestAdapterHijackTinyInbox: with a one-byte body buffer the hijacked conn still reads on
// (review finding: reading resumed below half the mark, which is never for 1).
func TestAdapterHijackTinyInbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(101)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			buf := make([]byte, 64)
			for {
				n, err := conn.Read(buf)
				if n > 0 {
					conn.Write(buf[:n])
				}
				if err != nil {
					return
				}
			}
		}), WithBodyBuffer(1))
		c := dial(t, addr)
		io.WriteString(c, upgradeRequest)
		br := bufio.NewReader(c)
		if _, err := http.ReadResponse(br, nil); err != nil {
			t.Fatal(err)
		}
		for i, msg := range []string{"a", "b", "c"} {
			io.WriteString(c, msg)
			got := make([]byte, 1)
			if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
				t.Fatalf("echo %d: %q %v", i, got, err)
			}
		}
	})
}

// TestAdapterHijackLeavesHandlerCount: a handler that keeps its hijacked session inside
// ServeHTTP no longer counts against WithMaxHandlers, so other requests are served; and
// RegisterOnShutdown's func, run when Shutdown begins, lets it end so Shutdown returns.
func TestAdapterHijackLeavesHandlerCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		sessions := make(chan net.Conn, 4)
		s := &Server{Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ws" {
				io.WriteString(w, "plain")
				return
			}
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			sessions <- conn
			io.Copy(conn, conn) // the session, inside ServeHTTP
			conn.Close()
		}), WithMaxHandlers(1))}
		s.RegisterOnShutdown(func() {
			for {
				select {
				case conn := <-sessions:
					conn.Close()
				default:
					return
				}
			}
		})
		addr := startServer(t, b, s)
		for i := 0; i < 2; i++ { // two sessions with one handler place
			c := dial(t, addr)
			io.WriteString(c, upgradeRequest+"hi")
			got := make([]byte, 2)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "hi" {
				t.Fatalf("session %d: %q %v", i, got, err)
			}
		}
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if rs := readResponses(t, bufio.NewReader(c), 1); bodyString(rs[0]) != "plain" {
			t.Fatalf("plain request beside two sessions: %d %q", rs[0].StatusCode, bodyString(rs[0]))
		}
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown with sessions closed by RegisterOnShutdown: %v", err)
		}
	})
}

// TestAdapterBodyTinyBuffer: with a one-byte body buffer a streamed body still arrives whole
// (review finding, older than hijacking: reading resumed below half the mark, never for 1),
// and the pipe's buffer stays small for a slow reader of a large body.
func TestAdapterBodyTinyBuffer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		maxCap := make(chan int, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.Body.(*bodyPipe)
			buf := make([]byte, 100)
			n, most := 0, 0
			for {
				k, err := p.Read(buf)
				n += k
				p.mu.Lock()
				most = max(most, cap(p.buf))
				p.mu.Unlock()
				if err != nil {
					break
				}
			}
			maxCap <- most
			fmt.Fprint(w, n)
		}), WithBodyBuffer(1))
		const size = 4 << 20
		c := dial(t, addr)
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
		go io.Copy(c, io.LimitReader(zeros{}, size))
		rs := readResponses(t, bufio.NewReader(c), 1)
		if got := bodyString(rs[0]); got != fmt.Sprint(size) {
			t.Fatalf("handler read %s bytes, want %d", got, size)
		}
		if m := <-maxCap; m > 1<<20 {
			t.Fatalf("body pipe buffer grew to %d B with a 1-byte mark", m)
		}
	})
}

// TestAdapterHijackCloseWrite: a hijacker half-closes through the CloseWrite the conn has (as a
// *net.TCPConn from net/http has): the client reads all written before it, then EOF; later
// writes fail; the hijacker still reads what the client sends until the client's EOF.
func TestAdapterHijackCloseWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		answer := bytes.Repeat([]byte("answer "), 300<<10) // 2.1 MiB: mostly queued at CloseWrite
		res := make(chan string, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, err := hijack101(w)
			if err != nil {
				res <- "hijack: " + err.Error()
				return
			}
			go func() {
				defer conn.Close()
				cw, ok := conn.(interface{ CloseWrite() error })
				if !ok {
					res <- "no CloseWrite"
					return
				}
				if _, err := conn.Write(answer); err != nil {
					res <- "write: " + err.Error()
					return
				}
				if err := cw.CloseWrite(); err != nil {
					res <- "CloseWrite: " + err.Error()
					return
				}
				if _, err := conn.Write([]byte("late")); err == nil {
					res <- "a Write after CloseWrite succeeded"
					return
				}
				res <- readRest(conn)
			}()
		}))
		c, br := dialUpgraded(t, addr)
		time.Sleep(50 * time.Millisecond) // the answer queues up unread
		got, err := io.ReadAll(br)
		if err != nil || !bytes.Equal(got, answer) {
			t.Fatalf("read %d bytes, %v; want the %d-byte answer, then EOF", len(got), err, len(answer))
		}
		io.WriteString(c, "after the FIN")
		c.(*net.TCPConn).CloseWrite()
		select {
		case r := <-res:
			if r != "read after the FIN" {
				t.Fatal(r)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the hijacker did not finish")
		}
	})
}

// TestAdapterHijackDropped: a hijacker that drops the conn without Close (a handler bug) does
// not keep it forever: once the handle is collected the connection closes, after what was
// written, as net/http's finalizer closes a dropped *net.TCPConn.
func TestAdapterHijackDropped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		srv, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\nbye")
		}))
		_, br := dialUpgraded(t, addr)
		done := make(chan struct{})
		var (
			got []byte
			err error
		)
		go func() {
			defer close(done)
			got, err = io.ReadAll(br) // ends when the server closes
		}()
		for i := 0; i < 100; i++ {
			runtime.GC()
			select {
			case <-done:
				i = 100
			case <-time.After(50 * time.Millisecond):
			}
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("a dropped hijacked conn stayed open")
		}
		if err != nil || string(got) != "bye" {
			t.Fatalf("read %q, %v; want what was written, then EOF", got, err)
		}
		for i := 0; srv.NumConns() != 0; i++ {
			if i == 500 {
				t.Fatalf("%d conns open after the close", srv.NumConns())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestAdapterHijackGCWhileBlocked: the cleanup of a dropped conn must not close one whose last
// use is a Read or Write still blocked in it (a review found both cut short by a GC).
func TestAdapterHijackGCWhileBlocked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		for _, op := range []string{"read", "write"} {
			t.Run(op, func(t *testing.T) {
				big := make([]byte, 32<<20)
				res := make(chan string, 1)
				_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						res <- err.Error()
						return
					}
					io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
					var n int
					if op == "read" {
						buf := make([]byte, 64)
						n, err = conn.Read(buf) // the last use of conn: blocks until the client writes
					} else {
						n, err = conn.Write(big) // the last use: blocks until the client reads
					}
					if err != nil {
						res <- fmt.Sprintf("%s after %d bytes: %v", op, n, err)
						return
					}
					res <- "ok"
				}))
				c := dial(t, addr)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				io.WriteString(c, upgradeRequest)
				br := bufio.NewReader(c)
				if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
					t.Fatalf("upgrade: %v %v", resp, err)
				}
				time.Sleep(50 * time.Millisecond) // the handler blocks
				for i := 0; i < 5; i++ {
					runtime.GC()
					time.Sleep(10 * time.Millisecond)
				}
				if op == "read" {
					io.WriteString(c, "hello")
				} else {
					go io.Copy(io.Discard, br)
				}
				select {
				case r := <-res:
					if r != "ok" {
						t.Fatal(r)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("the handler did not finish")
				}
			})
		}
	})
}

// hijack101 answers a 101 (Upgrade: test) and hijacks the connection.
func hijack101(w http.ResponseWriter) (net.Conn, error) {
	w.Header().Set("Connection", "Upgrade")
	w.Header().Set("Upgrade", "test")
	w.WriteHeader(http.StatusSwitchingProtocols)
	conn, _, err := http.NewResponseController(w).Hijack()
	return conn, err
}

// dialUpgraded sends upgradeRequest on a new connection (30 s deadline) and reads the 101.
func dialUpgraded(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, upgradeRequest)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return c, br
}

// echoUntilEOF writes payload to c and half-closes it (from a goroutine) while it reads the
// echo from br until EOF, and checks that the echo is payload.
func echoUntilEOF(t *testing.T, c net.Conn, br io.Reader, payload []byte) {
	t.Helper()
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		sent <- err
	}()
	got, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("reading the echo: %v (%d bytes)", err, len(got))
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatalf("echo differs: %d bytes, want %d", len(got), len(payload))
	}
}

// TestAdapterHijackCloseWriteInline calls CloseWrite right behind a Write in the handler itself
// (on a parked loop, the loop's own goroutine): the FIN must still follow the written bytes.
func TestAdapterHijackCloseWriteInline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		answer := bytes.Repeat([]byte("inline "), 1000)
		res := make(chan string, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, err := hijack101(w)
			if err != nil {
				res <- "hijack: " + err.Error()
				return
			}
			defer conn.Close()
			if _, err := conn.Write(answer); err != nil {
				res <- "write: " + err.Error()
				return
			}
			if err := conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
				res <- "CloseWrite: " + err.Error()
				return
			}
			res <- readRest(conn)
		}))
		c, br := dialUpgraded(t, addr)
		got, err := io.ReadAll(br)
		if err != nil || !bytes.Equal(got, answer) {
			t.Fatalf("got %d bytes (want %d) then %v", len(got), len(answer), err)
		}
		io.WriteString(c, "bye")
		c.(*net.TCPConn).CloseWrite()
		if r := <-res; r != "read bye" {
			t.Fatal(r)
		}
	})
}

// TestAdapterHijackCloseWriteBlockedWrite: CloseWrite does not wait for a Write blocked on a
// client that does not read (net.TCPConn's does not either). The Write stops with
// ErrWriteClosed, and the client reads exactly the bytes it reported, then EOF.
func TestAdapterHijackCloseWriteBlockedWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		big := bytes.Repeat([]byte("blocked "), 8<<20) // 64 MiB: far more than the queues hold
		type result struct {
			n   int
			err error
		}
		wrote := make(chan result, 1)
		closed := make(chan error, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, err := hijack101(w)
			if err != nil {
				closed <- err
				return
			}
			go func() {
				n, err := conn.Write(big)
				wrote <- result{n, err}
			}()
			time.Sleep(300 * time.Millisecond) // the Write fills the queues and waits
			closed <- conn.(interface{ CloseWrite() error }).CloseWrite()
			res := <-wrote
			wrote <- res
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			io.Copy(io.Discard, conn)
			conn.Close()
		}))
		_, br := dialUpgraded(t, addr) // then reads nothing until the Write has returned
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("CloseWrite waited for the blocked Write")
		}
		var r result
		select {
		case r = <-wrote:
			wrote <- r
		case <-time.After(15 * time.Second):
			t.Fatal("the blocked Write did not return after CloseWrite")
		}
		if !errors.Is(r.err, reactor.ErrWriteClosed) || r.n >= len(big) {
			t.Fatalf("Write: %d of %d bytes, %v", r.n, len(big), r.err)
		}
		got, err := io.Copy(io.Discard, br)
		if err != nil || got != int64(r.n) {
			t.Fatalf("read %d bytes then %v; the Write reported %d", got, err, r.n)
		}
	})
}

// readRest reads what the client sends after the server's CloseWrite, up to
// its EOF, as a result line for the test.
func readRest(conn net.Conn) string {
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	rest, err := io.ReadAll(conn)
	if err != nil {
		return "read: " + err.Error()
	}
	return "read " + string(rest)
}
