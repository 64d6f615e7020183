//go:build !race

package httpx

import (
	"bytes"
	"testing"
)

// TestZeroAllocFastPath checks that the engine allocates nothing per request in steady state:
// parse, handler, response, for single, pipelined, body-carrying and split requests.
func TestZeroAllocFastPath(t *testing.T) {
	get := []byte("GET /plaintext HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	post := []byte("POST /p HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
	chunked := []byte("POST /p HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	tests := []struct {
		name  string
		in    []byte
		split int
	}{
		{"get", get, 0},
		{"pipelined16", bytes.Repeat(get, 16), 0},
		{"post", post, 0},
		{"chunked", chunked, 0},
		{"split", get, 10},
	}
	h := HandlerFunc(func(c *Ctx) {
		_ = c.Header("user-agent")
		c.SetContentType("text/plain")
		c.SetHeader("X-Served-By", "ringo")
		c.WriteString("Hello, World!")
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &sinkConn{}
			e := newEngine(testConfig(h), s, newLoopCache(fixedNow))
			run := func() {
				if tc.split == 0 {
					e.feed(tc.in)
					return
				}
				for i := 0; i < len(tc.in); i += tc.split {
					e.feed(tc.in[i:min(i+tc.split, len(tc.in))])
				}
			}
			run() // warm up buffers
			s.n = 0
			allocs := testing.AllocsPerRun(200, run)
			if allocs != 0 {
				t.Fatalf("%v allocations per run", allocs)
			}
			if s.n == 0 || s.closed {
				t.Fatalf("no output (%d) or closed (%v)", s.n, s.closed)
			}
		})
	}
}
