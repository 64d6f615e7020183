package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestAdapterControllerReadDeadline: http.ResponseController.SetReadDeadline replaces the
// Server's ReadTimeout for the body: a body sent slowly over 400 ms arrives whole under a
// 100 ms ReadTimeout once the handler moved the deadline; without that, the connection closes
// (the control, which shows the timeout is real); and a near deadline ends a Body.Read that
// waits for a body that never comes.
func TestAdapterControllerReadDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		s := &Server{ReadTimeout: 100 * time.Millisecond, Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			switch r.URL.Path {
			case "/extend":
				if err := rc.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
					t.Error(err)
				}
			case "/near":
				if err := rc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
					t.Error(err)
				}
			}
			start := time.Now()
			body, err := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%d %v %d", len(body), err != nil, time.Since(start).Milliseconds())
		}))}
		addr := startServer(t, b, s)
		slowBody := func(path string) (string, error) {
			c := dial(t, addr)
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n", path)
			for i := 0; i < 4; i++ {
				time.Sleep(100 * time.Millisecond)
				if _, err := io.WriteString(c, "ab"); err != nil {
					return "", err
				}
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return "", err
			}
			return bodyString(resp), nil
		}
		if got, err := slowBody("/extend"); err != nil || got[:8] != "8 false " {
			t.Fatalf("slow body with the deadline moved: %q, %v", got, err)
		}
		if got, err := slowBody("/default"); err == nil {
			t.Fatalf("slow body under the 100 ms ReadTimeout was answered: %q (the timeout never applied)", got)
		}
		c := dial(t, addr)
		io.WriteString(c, "POST /near HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nab")
		// The connection closes at the deadline; the handler's Read fails and what it writes
		// is lost with the connection.
		if rest, _ := io.ReadAll(c); len(rest) != 0 && !bytes.HasPrefix(rest, []byte("HTTP/1.1 4")) {
			t.Fatalf("after the read deadline: %q", rest)
		}
	})
}

// TestAdapterControllerWriteDeadline: SetWriteDeadline(time.Time{}) lifts the Server's
// WriteTimeout for a response streamed to a client that stops reading for 300 ms, longer than
// the 50 ms timeout; without it, the same response is cut off (the control).
func TestAdapterControllerWriteDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const size = 16 << 20
		s := &Server{WriteTimeout: 50 * time.Millisecond, Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if r.URL.Path == "/lift" {
				if err := rc.SetWriteDeadline(time.Time{}); err != nil {
					t.Error(err)
				}
			}
			w.Header().Set("Content-Length", strconv.Itoa(size))
			chunk := bytes.Repeat([]byte("z"), 64<<10)
			for n := 0; n < size; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				if err := rc.Flush(); err != nil {
					return
				}
			}
		}))}
		addr := startServer(t, b, s)
		get := func(path string) (int64, error) {
			c := dial(t, addr)
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
			time.Sleep(300 * time.Millisecond)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return 0, err
			}
			return io.Copy(io.Discard, resp.Body)
		}
		if n, err := get("/lift"); err != nil || n != size {
			t.Fatalf("with the write deadline lifted: %d bytes, %v", n, err)
		}
		if n, err := get("/default"); err == nil && n == size {
			t.Fatal("the whole response arrived under a 50 ms WriteTimeout to a stalled client: the timeout never applied")
		} else if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
			t.Logf("control cut off with %v after %d bytes", err, n)
		}
	})
}
