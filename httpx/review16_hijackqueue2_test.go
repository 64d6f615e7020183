package httpx

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// TestHijackWriteBehindPipelined: default settings. A client pipelines small requests (each
// answered with 4000 bytes, in the handler's final delivery, which nothing waits on) and then
// an upgrade request, and reads nothing for a second. The responses queued before the 101 fill
// the connection's queue past the AsyncWrite limit, so the hijacker's first Write is refused,
// and no callback of its own will ever wake it: it hangs although the client then reads it all.
func TestHijackWriteBehindPipelined(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		const n, post = 3000, 1 << 20
		small := strings.Repeat("s", 4000)
		res := make(chan error, 1)
		_, addr := adapterServer(t, b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ws" {
				io.WriteString(w, small)
				return
			}
			conn, err := hijack101(w)
			if err != nil {
				res <- err
				return
			}
			defer conn.Close()
			conn.SetWriteDeadline(time.Now().Add(8 * time.Second))
			_, err = conn.Write(bytes.Repeat([]byte("b"), post))
			res <- err
		}))
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(15 * time.Second))
		go io.WriteString(c, strings.Repeat("GET /s HTTP/1.1\r\nHost: x\r\n\r\n", n)+upgradeRequest)
		time.Sleep(time.Second) // the client reads nothing yet
		br := bufio.NewReaderSize(c, 64<<10)
		for i := 0; i < n; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			io.Copy(io.Discard, resp.Body)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("%v %v", resp, err)
		}
		start := time.Now()
		got, err := io.ReadAll(br)
		werr := <-res
		if len(got) != post || werr != nil {
			t.Fatalf("client got %d of the hijacker's %d bytes in %v (%v); hijacker's Write: %v", len(got), post, time.Since(start), err, werr)
		}
	})
}
