package httpx

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
	"golang.org/x/sys/unix"
)

// A pipelined POST that starts after the client's EOF (its whole body already received) reads
// its whole body, and its Context is cancelled only once it has (as net/http).
func TestAdapterPipelinedBodyAfterEOF(t *testing.T) {
	const size = 300 << 10
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/1" {
			time.Sleep(200 * time.Millisecond)
			io.WriteString(w, "one")
			return
		}
		before := r.Context().Err()
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "n=%d err=%v before=%v", n, err, before)
	})
	sameAsNetHTTP(t, h, func(t *testing.T, addr string) {
		c := dial(t, addr)
		go func() {
			io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
			fmt.Fprintf(c, "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
			c.Write([]byte(strings.Repeat("a", size)))
			c.(*net.TCPConn).CloseWrite()
		}()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			s := bodyString(resp)
			if i == 1 && s != fmt.Sprintf("n=%d err=<nil> before=<nil>", size) {
				t.Fatalf("second response %d %q", resp.StatusCode, s)
			}
		}
	})
}

// A FromHTTP handler reading an upload slowly (its body pipe full, reading paused, input kept
// by the reactor) whose client resets: the handler gets every byte that arrived, then an error
// from Body.Read, and its Context is cancelled; nothing hangs.
func TestAdapterPausedUploadReset(t *testing.T) {
	const size = 1 << 20
	type res struct {
		n      int64
		err    error
		ctxErr error
	}
	forEachBackend(t, func(t *testing.T, be reactor.Backend) {
		got := make(chan res, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 8<<10)
			var n int64
			var err error
			for {
				var k int
				k, err = r.Body.Read(buf)
				n += int64(k)
				if err != nil {
					break
				}
				if n > 64<<10 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
			got <- res{n, err, r.Context().Err()}
		})
		_, addr := adapterServer(t, be, h, WithBodyBuffer(16<<10))
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size+1)
		c.Write([]byte(strings.Repeat("a", size)))
		time.Sleep(100 * time.Millisecond)
		outq := -1
		if rc, err := c.(*net.TCPConn).SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { outq, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) })
		}
		t.Logf("client unsent/unacked at reset: %d", outq)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		select {
		case r := <-got:
			t.Logf("read %d, err %v, ctx %v", r.n, r.err, r.ctxErr)
			if outq == 0 && r.n != size {
				t.Errorf("all %d bytes acknowledged by the server before the reset, handler read %d", size, r.n)
			}
			if r.err == nil || r.err == io.EOF || r.ctxErr == nil {
				t.Fatalf("read %d, err %v, ctx %v", r.n, r.err, r.ctxErr)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("handler hangs")
		}
	})
}
