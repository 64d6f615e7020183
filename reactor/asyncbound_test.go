//go:build linux

package reactor

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// TestAsyncWriteQueueBound: with a peer that does not read, AsyncWrite
// stops taking bytes (ErrQueueFull, at once, b not taken, done not called)
// once the conn's pending output is over the limit; a write into an empty
// queue is taken whatever its size; nothing taken is lost and nothing
// refused is sent; and a producer that retries after done callbacks gets
// its whole stream through once the peer reads.
func TestAsyncWriteQueueBound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const limit = 64 << 10
		conns := make(chan *Conn, 1)
		s := start(t, b, HandlerFuncs{Open: func(c *Conn) { conns <- c }}, WithAsyncWriteLimit(limit))
		c := dial(t, s)
		var sc *Conn
		select {
		case sc = <-conns:
		case <-time.After(20 * time.Second):
			t.Fatal("OnOpen not called")
		}

		// Phase 1: the peer does not read.
		var sent bytes.Buffer
		big := pattern(4*limit, 1)
		if err := sc.AsyncWrite(big, nil); err != nil {
			t.Fatalf("AsyncWrite of %d bytes into an empty queue: %v", len(big), err)
		}
		sent.Write(big)
		var doneCalls, refusedDone int
		dones := make(chan error, 1<<16)
		full := false
		for i := 0; i < 1<<16 && !full; i++ {
			chunk := pattern(16<<10, byte(i+2))
			err := sc.AsyncWrite(chunk, func(err error) { dones <- err })
			switch {
			case err == nil:
				sent.Write(chunk)
				doneCalls++
			case errors.Is(err, ErrQueueFull):
				full = true
			default:
				t.Fatalf("AsyncWrite: %v", err)
			}
		}
		if !full {
			t.Fatalf("%d bytes taken for a peer that does not read: no ErrQueueFull", sent.Len())
		}
		// Phase 2: the peer reads exactly what was taken; then a marker
		// shows that the refused chunk was never sent.
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got := make([]byte, sent.Len())
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("read the %d bytes taken: %v", sent.Len(), err)
		}
		if sha256.Sum256(got) != sha256.Sum256(sent.Bytes()) {
			t.Fatal("bytes taken by AsyncWrite arrived altered")
		}
		for range doneCalls {
			if err := <-dones; err != nil {
				t.Fatalf("done of a taken write: %v", err)
			}
		}
		select {
		case err := <-dones:
			refusedDone++
			t.Fatalf("done called for a refused write (%v)", err)
		default:
		}
		// The queue drained: a write is taken again.
		reactortest.WaitUntil(t, 10*time.Second, "queue drained", func() bool {
			return sc.AsyncWrite([]byte("mark"), nil) == nil
		})
		mark := make([]byte, 4)
		if _, err := io.ReadFull(c, mark); err != nil || string(mark) != "mark" {
			t.Fatalf("after the taken bytes: %q, %v (a refused write was sent?)", mark, err)
		}

		// Phase 3: a producer that backs off on ErrQueueFull and retries
		// after progress, with a reading peer: the whole stream arrives.
		const total = 4 << 20
		want := pattern(total, 99)
		progress := make(chan struct{}, 1)
		perr := make(chan error, 1)
		go func() {
			rest := want
			for tries := 0; len(rest) > 0 && tries < 1<<20; tries++ {
				n := min(len(rest), 8<<10)
				err := sc.AsyncWrite(rest[:n:n], func(error) {
					select {
					case progress <- struct{}{}:
					default:
					}
				})
				switch {
				case err == nil:
					rest = rest[n:]
				case errors.Is(err, ErrQueueFull):
					select {
					case <-progress:
					case <-time.After(10 * time.Millisecond):
					}
				default:
					perr <- err
					return
				}
			}
			if len(rest) > 0 {
				perr <- errors.New("producer gave up")
				return
			}
			perr <- nil
		}()
		got = make([]byte, total)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("read the produced stream: %v", err)
		}
		if err := <-perr; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("produced stream arrived altered")
		}
	})
}

// TestAsyncWriteRetryAfterDone: a producer that, refused with ErrQueueFull, waits for the next
// done callback before retrying is never stuck: when a done callback runs, AsyncWrite already
// sees the queue without the bytes it reports (review finding: the loop ran the callbacks
// before publishing the smaller queue, so the retry could be refused with no callback left).
func TestAsyncWriteRetryAfterDone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		const total = 32 << 20
		conns := make(chan *Conn, 1)
		s := start(t, b, HandlerFuncs{Open: func(c *Conn) { conns <- c }}, WithAsyncWriteLimit(2<<10))
		c := dial(t, s)
		var sc *Conn
		select {
		case sc = <-conns:
		case <-time.After(20 * time.Second):
			t.Fatal("OnOpen not called")
		}
		read := make(chan int64, 1)
		go func() {
			n, _ := io.Copy(io.Discard, io.LimitReader(c, total))
			read <- n
		}()
		progress := make(chan struct{}, 1)
		done := func(error) {
			select {
			case progress <- struct{}{}:
			default:
			}
		}
		for sent := 0; sent < total; {
			switch err := sc.AsyncWrite(make([]byte, 1<<10), done); {
			case err == nil:
				sent += 1 << 10
			case errors.Is(err, ErrQueueFull):
				select {
				case <-progress:
				case <-time.After(5 * time.Second):
					t.Fatalf("refused at %d bytes and no done callback for 5 s", sent)
				}
			default:
				t.Fatal(err)
			}
		}
		if n := <-read; n != total {
			t.Fatalf("peer read %d bytes, want %d", n, total)
		}
	})
}
