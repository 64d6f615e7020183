//go:build linux

package reactor

import (
	"io"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

// CloseWrite documents "Later Write and Writev calls fail with
// ErrWriteClosed". Called from another goroutine it only queues a task:
// a Write the loop makes after it (in happens-before order, through an
// atomic here) but before that task runs succeeds, and its bytes reach the
// peer before the FIN. (Close, by contrast, marks the conn at once.)
// CloseWrite from another goroutine: a loop Write after it returned fails
// with ErrWriteClosed, and the peer gets nothing before EOF.
func TestReview19CloseWriteOffLoopThenWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		var flag atomic.Bool
		res := make(chan error, 1)
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{
			Open: func(c *Conn) { opened <- c },
			Data: func(c *Conn, d []byte) int {
				if flag.Load() {
					_, err := c.Write([]byte("late"))
					select {
					case res <- err:
					default:
					}
				}
				return len(d)
			},
		}
		_, cl, sc := startOpened(t, b, h, opened)
		cl.SetDeadline(time.Now().Add(5 * time.Second))
		running, release := make(chan struct{}), make(chan struct{})
		if err := sc.Loop().Execute(func() { close(running); <-release }); err != nil {
			t.Fatal(err)
		}
		<-running
		if err := sc.CloseWrite(); err != nil { // returns: the write side is closed
			t.Fatal(err)
		}
		flag.Store(true) // the loop's next Write comes after CloseWrite
		if _, err := cl.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // "x" is in the server's socket
		close(release)
		var werr error
		select {
		case werr = <-res:
		case <-time.After(5 * time.Second):
			t.Fatal("no OnData")
		}
		got, err := io.ReadAll(cl)
		if werr == nil || len(got) > 0 {
			t.Fatalf("Write after CloseWrite returned %v (want ErrWriteClosed); peer read %q before EOF (err %v)", werr, got, err)
		}
	})
}

// A Conn is what an idle connection costs: 144 bytes is a size class of the
// allocator, one byte more costs 160 (about 20 bytes of RSS per idle conn;
// CloseWrite's off-loop flag first took a field of its own and crossed it).
func TestConnSizeClass(t *testing.T) {
	if n := reflect.TypeOf(Conn{}).Size(); n > 144 {
		t.Fatalf("Conn is %d bytes, more than the 144-byte size class", n)
	}
}
