//go:build linux

package reactor

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// A Write on the loop made while an AsyncWrite of c waits in the task queue
// (commit 04f786c) goes to the task queue too, and Buffered does not count
// it: the producer pattern NotifySent and Buffered document ("write until
// Buffered is above a mark, then continue from f") never reaches its mark
// and writes without bound on the loop.
// A loop Write made while an AsyncWrite of its conn is still in the task
// queue counts at once in Buffered (a producer that writes until Buffered
// passes a mark stops), and NotifySent(0) waits for its bytes.
func TestReview19WriteBehindAsyncBuffered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const mark, chunk, maxWrites = 64 << 10, 1 << 10, 2000
		res := make(chan [2]int, 1)
		h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			c.AsyncWrite([]byte("A"), nil) // the loop's own, or any goroutine's
			buf := make([]byte, chunk)
			writes := 0
			for c.Buffered() <= mark && writes < maxWrites {
				if _, err := c.Write(buf); err != nil {
					break
				}
				writes++
			}
			select {
			case res <- [2]int{writes, c.Buffered()}:
			default:
			}
			c.Close()
			return len(d)
		}}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		cl.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := cl.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, cl)
		select {
		case r := <-res:
			if r[0] > mark/chunk+1 {
				t.Fatalf("producer made %d writes of %d bytes (stopped by the test's cap %d); Buffered stayed %d: Write returned but its bytes are not counted", r[0], chunk, maxWrites, r[1])
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no result")
		}
	})
}

// NotifySent(0, f) right after a Write: f must wait until the Write's bytes
// are sent. With an AsyncWrite still in the task queue it runs at once, and
// the proxy's pattern (NotifySent(0) then CloseWithError, examples/proxy
// pair.closed) drops the bytes the Write had accepted.
func TestReview19WriteBehindAsyncNotifySent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const size = 256 << 10
		body := pattern(size, 7)
		early := make(chan bool, 1)
		h := HandlerFuncs{Data: func(c *Conn, d []byte) int {
			c.AsyncWrite([]byte("A"), nil)
			c.Write(body)
			returned := false
			c.NotifySent(0, func(err error) {
				select {
				case early <- !returned:
				default:
				}
				if err == nil {
					c.CloseWithError(errors.New("done"))
				}
			})
			returned = true
			return len(d)
		}}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		cl.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := cl.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(cl)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("timeout after %d bytes", len(got))
		}
		wasEarly := false
		select {
		case wasEarly = <-early:
		case <-time.After(time.Second):
		}
		if len(got) != 1+size {
			t.Fatalf("peer got %d bytes, want %d (NotifySent(0) ran before NotifySent returned: %v; err %v)", len(got), 1+size, wasEarly, err)
		}
	})
}
