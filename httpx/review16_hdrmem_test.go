package httpx

import (
	"bufio"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// A response with large header lines (a big Content-Security-Policy, cookies) leaves its
// engine holding the lines' buffer for ever: the engine goes back to its loop's free list
// (up to 256 per loop) with Ctx.hdr at its largest capacity, while the response body buffer,
// the decoded body, carry and out are all dropped above 256 KiB ("do not keep a large buffer
// on an idle connection").
func TestLargeHeaderLinesNotKept(t *testing.T) {
	const conns = 48
	big := strings.Repeat("v", 1<<20)
	for _, b := range []reactor.Backend{reactor.BackendEpoll} {
		addr := startServer(t, b, &Server{Handler: HandlerFunc(func(c *Ctx) {
			if string(c.Path()) == "/hdr" {
				c.SetHeader("X-Big", big)
			} else {
				c.WriteString(big) // the body buffer: dropped by Ctx.release
			}
		})})
		for _, path := range []string{"/body", "/hdr"} {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			cs := make([]net.Conn, conns)
			for i := range cs {
				cs[i] = dial(t, addr)
				io.WriteString(cs[i], "GET "+path+" HTTP/1.1\r\nHost: h\r\n") // each holds an engine
			}
			time.Sleep(200 * time.Millisecond)
			for _, c := range cs {
				io.WriteString(c, "\r\n")
			}
			for _, c := range cs {
				readResponses(t, bufio.NewReader(c), 1)
			}
			time.Sleep(200 * time.Millisecond) // the conns are idle, their engines free
			runtime.GC()
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%s: heap +%d MiB with %d idle conns", path, kept>>20, conns)
			if kept > 16<<20 {
				t.Errorf("%s: %d MiB kept by %d idle keep-alive connections after 1 MiB responses", path, kept>>20, conns)
			}
			for _, c := range cs {
				c.Close()
			}
		}
	}
}
