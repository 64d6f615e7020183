package main

import (
	"io"
	"net"
	"testing"
	"time"
)

// An echo upstream behind small socket buffers (a slow or constrained path):
// the client writes 16 MiB while it reads the echo concurrently. Direct, this
// always completes; through the proxy it must too. The proxy's back conn must
// keep reading the echo while its own queue towards the upstream is long,
// since the upstream reads more only once its echo was taken.
func TestProxyEchoSmallUpstreamBuffers(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			up := upstream(t, func(c net.Conn) {
				tc := c.(*net.TCPConn)
				tc.SetReadBuffer(32 << 10)
				tc.SetWriteBuffer(32 << 10)
				io.Copy(c, c)
			})
			echoThrough(t, up, 16<<20, 20*time.Second) // direct: the setup itself is sound
			echoThrough(t, startProxy(t, b, up).Addr().String(), 16<<20, 20*time.Second)
		})
	}
}
