package httpx

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// adapterEcho answers with the method, path and body length; a body that fails to read is
// answered 400.
func adapterEcho(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	p := r.URL.Path
	if p == "" {
		p = "/"
	}
	fmt.Fprintf(w, "%s %s %d", r.Method, "p", len(b))
}

// FuzzAdapterNetHTTP is FuzzServerNetHTTP's property on the FromHTTP path: the stream is fed in
// pieces on the connection's loop, the peer's EOF follows, and the connection must close.
func FuzzAdapterNetHTTP(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Add([]byte("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"), uint8(3))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nb"), uint8(5))
	cfg := adapterNetHTTPConfig()
	f.Fuzz(func(t *testing.T, in []byte, step uint8) { checkAdapterNetHTTP(t, cfg, in, step) })
}

func adapterNetHTTPConfig() *config {
	a := FromHTTP(http.HandlerFunc(adapterEcho), WithWorkerIdleTimeout(50*time.Millisecond))
	cfg := quietConfig(a)
	cfg.lim = limits{requestLine: 256, headerBytes: 1024, headerCount: 16, body: 1 << 16}
	cfg.holdMax = cfg.lim.requestLine + cfg.lim.headerBytes + 64<<10
	return cfg
}

func checkAdapterNetHTTP(t *testing.T, cfg *config, in []byte, step uint8) {
	t.Helper()
	{
		m := newMemConn(cfg)
		m.startLoop(t)
		n := int(step % 16)
		if n == 0 {
			n = len(in) + 1
		}
		for off := 0; off < len(in); off += n {
			piece := in[off:min(off+n, len(in))]
			m.onLoop(func() { m.e.feed(piece) })
		}
		m.onLoop(func() { m.e.readEOF() })
		var done bool
		for i := 0; i < 5000 && !done; i++ {
			m.onLoop(func() { done = m.e.async == nil && m.isClosed() })
			if !done {
				time.Sleep(time.Millisecond)
			}
		}
		if !done {
			t.Fatalf("%q step %d: not closed after EOF; output %q", in, step, m.output())
		}
		checkOutput(t, in, m.output(), false)
	}
}
