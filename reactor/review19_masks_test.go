//go:build linux

package reactor

import (
	"crypto/sha256"
	"io"
	"testing"
	"time"
)

// The mixed writes of review19Producer, echoed-free, under every kernel
// generation's feature mask.
func TestReview19MixedWritesMasks(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skip(err)
	}
	for _, gen := range kernelGenerations {
		t.Run(gen.name, func(t *testing.T) {
			expCh := make(chan []byte, 1)
			h := HandlerFuncs{Open: func(c *Conn) {
				var exp []byte
				review19Producer(c, &exp)
				expCh <- exp
				c.Close()
			}}
			s := start(t, BackendUring, h, withFeatureMask(gen.mask), WithLoops(1))
			cl := dial(t, s)
			cl.SetDeadline(time.Now().Add(60 * time.Second))
			got, err := io.ReadAll(cl)
			if err != nil {
				t.Fatalf("after %d bytes: %v", len(got), err)
			}
			exp := <-expCh
			if sha256.Sum256(got) != sha256.Sum256(exp) {
				t.Fatalf("got %d bytes, want %d", len(got), len(exp))
			}
		})
	}
}
