package main

import (
	"crypto/sha256"
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
			for _, via := range []string{"direct", "proxy"} {
				addr := up
				if via == "proxy" {
					addr = startProxy(t, b, up).Addr().String()
				}
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				data := pattern(16 << 20)
				werr := make(chan error, 1)
				go func() {
					_, err := c.Write(data)
					if err == nil {
						err = c.(*net.TCPConn).CloseWrite()
					}
					werr <- err
				}()
				got, err := io.ReadAll(c)
				c.Close()
				if err != nil {
					t.Fatalf("%s: read: %v after %d of %d bytes", via, err, len(got), len(data))
				}
				if err := <-werr; err != nil {
					t.Fatalf("%s: write: %v", via, err)
				}
				if sha256.Sum256(got) != sha256.Sum256(data) {
					t.Fatalf("%s: got %d bytes, differing", via, len(got))
				}
			}
		})
	}
}
