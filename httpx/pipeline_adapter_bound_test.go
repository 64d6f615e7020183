package httpx

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// A client pipelines many requests for large FromHTTP responses and reads nothing for a
// while. net/http reads the next request only after writing the last response, so its
// output is bounded by the socket buffers; FromHTTP served every pipelined request in its
// carry at once, and queued all their responses (tens of MiB for one connection). The next
// request now waits until the output drained. Every response still arrives, in order, also
// when the client half-closes right after its requests.
func TestAdapterPipelineOutputBounded(t *testing.T) {
	const n, size = 6000, 3000
	body := strings.Repeat("r", size-8)
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		for _, c := range []struct {
			halfClose bool
			marks     []reactor.Option // water marks below the adapter's own 256 KiB too
		}{{false, nil}, {true, nil}, {false, []reactor.Option{reactor.WithWriteWaterMarks(64<<10, 16<<10)}}} {
			halfClose := c.halfClose
			var ran atomic.Int32
			addr := startServer(t, b, &Server{Reactor: c.marks, Handler: FromHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran.Add(1)
				fmt.Fprintf(w, "%08s%s", r.URL.Query().Get("i"), body)
			}))})
			c := dialSmallRcvbuf(t, addr)
			c.SetDeadline(time.Now().Add(30 * time.Second))
			reqs := numberedGets(n)
			if _, err := io.WriteString(c, reqs); err != nil {
				t.Fatal(err)
			}
			if halfClose {
				c.(interface{ CloseWrite() error }).CloseWrite()
			}
			time.Sleep(time.Second) // the client reads nothing yet
			if got := ran.Load(); got > n/2 {
				t.Errorf("halfClose %v: %d of %d handlers ran while the client read nothing (%d MiB of responses queued)", halfClose, got, n, int(got)*size>>20)
			}
			br := bufio.NewReaderSize(c, 128<<10)
			for i := range n {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("halfClose %v: response %d: %v", halfClose, i, err)
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 || len(b) != size || string(b[:8]) != fmt.Sprintf("%08s", strconv.Itoa(i)) {
					t.Fatalf("halfClose %v: response %d: status %d, %d bytes starting %q, %v", halfClose, i, resp.StatusCode, len(b), b[:min(8, len(b))], err)
				}
			}
		}
	})
}

// numberedGets returns n pipelined GET requests for /?i=0 to /?i=n-1.
func numberedGets(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "GET /?i=%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	return b.String()
}
