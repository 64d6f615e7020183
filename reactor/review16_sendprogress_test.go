//go:build linux

package reactor

import (
	"syscall"
	"testing"
	"time"
)

// eofWriter is a ReadEOFHandler: at the peer's EOF it queues a large
// response and asks to be told once its first byte is sent.
type eofWriter struct {
	HandlerFuncs
	got chan error
}

func (h *eofWriter) OnReadEOF(c *Conn) {
	syscall.SetsockoptInt(c.Fd(), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
	chunk := pattern(8<<10, 5)
	for range 128 { // 1 MiB, queued (each Write is under directWriteMin)
		c.Write(chunk)
	}
	q := c.Buffered()
	c.NotifySent(q-1, func(err error) { h.got <- err }) // due once 1 byte is sent
}

// The peer closed (its socket is gone): the first send takes part of the
// output (the kernel takes what fits before it processes the peer's reset),
// the next fails with EPIPE. NotifySent's callback was due after the first
// byte, which the kernel took: it must get nil, as on io_uring, whose send
// completion reports the bytes taken before the failing send. epoll's send
// loop reports only the error (sent(c, 0, err)), dropping the bytes its
// earlier sends took, so the callback gets EPIPE.
func TestSendErrorAfterProgressCounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		fails := 0
		for i := range 20 {
			h := &eofWriter{got: make(chan error, 1)}
			s := start(t, b, h, WithLoops(1))
			cl := dial(t, s)
			cl.Write([]byte("x"))
			cl.Close() // FIN; the socket is gone: the server's data gets a reset
			var err error
			select {
			case err = <-h.got:
			case <-time.After(5 * time.Second):
				t.Fatal("NotifySent callback not called")
			}
			s.Close()
			if err != nil {
				fails++
				if fails == 1 {
					t.Errorf("run %d: NotifySent callback due after 1 sent byte got %v (the first send took bytes before the error)", i, err)
				}
			}
		}
		if fails > 0 {
			t.Logf("%d/20 runs failed", fails)
		}
	})
}
