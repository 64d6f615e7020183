package main

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

// slowWrite writes size bytes to c in 64 KiB pieces 20 ms apart (about 2.5 s
// for 8 MiB).
func slowWrite(c net.Conn, size int) {
	buf := make([]byte, 64<<10)
	for sent := 0; sent < size; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReview21ShutdownDeadlineNotCleanEOF: Shutdown's context ends (SIGTERM's 5 s)
// while a pair still transfers, a download or an upload. Shutdown then closes
// the pair; the peer that receives may not take the cut for the end of the
// transfer (a clean EOF after part of it), the promise of frontHandler's doc
// that TestProxyShutdownFinishesTransfer checks for a transfer that ends
// within the drain.
func TestReview21ShutdownDeadlineNotCleanEOF(t *testing.T) {
	const size = 8 << 20
	for _, b := range []reactor.Backend{reactor.BackendUring, reactor.BackendEpoll} {
		for _, dir := range []string{"download", "upload"} {
			t.Run(string(b)+"/"+dir, func(t *testing.T) {
				got := make(chan error, 1) // what the receiving peer saw: io.EOF for a clean EOF too early
				receive := func(c net.Conn) {
					n, err := io.Copy(io.Discard, c)
					if err == nil && n != size {
						err = io.EOF
					}
					got <- err
				}
				up := upstream(t, func(c net.Conn) {
					if dir == "download" {
						slowWrite(c, size)
					} else {
						receive(c)
					}
				})
				s := startProxy(t, b, up)
				c, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if dir == "download" {
					go receive(c)
				} else {
					go slowWrite(c, size)
				}
				time.Sleep(200 * time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				if err := s.Shutdown(ctx); err == nil {
					t.Fatal("Shutdown returned nil: the transfer ended within the drain")
				}
				select {
				case err := <-got:
					if err == io.EOF {
						t.Fatalf("Shutdown's deadline cut the %s: its receiver saw a clean EOF after part of it", dir)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s: the receiver still reads", dir)
				}
			})
		}
	}
}
