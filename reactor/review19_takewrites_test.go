//go:build linux

package reactor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A runtime.Goexit in the done callback of an AsyncWrite that a loop Write
// took from the task queue (takeWrites, from a timer): the writes taken
// after it sat only in l.taken (their queue entries are taskTaken), and the
// teardown never saw them: their done callbacks never ran.
func TestReview19TakenGoexitLosesDone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) { opened <- c }}
		s, _, c := startOpened(t, b, h, opened)
		var calls atomic.Int32
		ran := make(chan struct{})
		c.Loop().Execute(func() {
			c.Loop().AfterFunc(0, func() { // outside a task: the Write takes the AsyncWrites
				defer close(ran)
				c.AsyncWrite(nil, func(error) { runtime.Goexit() }) // fires at once: nothing buffered
				c.AsyncWrite([]byte("B"), func(error) { calls.Add(1) })
				c.Write([]byte("C"))
			})
		})
		<-ran
		select {
		case <-c.Loop().done:
		case <-time.After(10 * time.Second):
			t.Fatal("the loop did not end")
		}
		s.Close()
		if n := calls.Load(); n != 1 {
			t.Fatalf("the taken AsyncWrite's done callback ran %d times, want 1", n)
		}
	})
}

// One goroutine: AsyncWrite("A"), Execute(func(){ Write("B") }), AsyncWrite("C").
// The peer must read "ABC" (the goroutine's order): the Execute'd Write
// takes its task's place; it took the later AsyncWrite out of the queue and
// queued it first ("ACB").
func TestReview19ExecuteWriteOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) { opened <- c }}
		_, cl, c := startOpened(t, b, h, opened)
		block, blocked := make(chan struct{}), make(chan struct{})
		c.Loop().Execute(func() { close(blocked); <-block })
		<-blocked
		c.AsyncWrite([]byte("A"), nil)
		c.Loop().Execute(func() { c.Write([]byte("B")) })
		c.AsyncWrite([]byte("C"), nil)
		close(block)
		cl.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, 0, 3)
		buf := make([]byte, 3)
		for len(got) < 3 {
			n, err := cl.Read(buf)
			if err != nil {
				t.Fatalf("read: %v (got %q)", err, got)
			}
			got = append(got, buf[:n]...)
		}
		if string(got) != "ABC" {
			t.Fatalf("peer read %q, want %q", got, "ABC")
		}
	})
}

// A done callback that takeWrites runs (inside a loop Write, from a timer)
// calls CloseWrite: the Write must fail with ErrWriteClosed (its bytes went
// out before the FIN), as it fails with ErrClosed after a Close there.
func TestReview19CloseWriteInTakenDone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) { opened <- c }}
		_, cl, c := startOpened(t, b, h, opened)
		werr := make(chan error, 1)
		c.Loop().Execute(func() {
			c.Loop().AfterFunc(0, func() { // outside a task: the Write takes the AsyncWrites
				c.AsyncWrite(nil, func(error) { c.CloseWrite() }) // runs at once: nothing buffered
				c.AsyncWrite([]byte("A"), nil)
				_, err := c.Write([]byte("B"))
				werr <- err
			})
		})
		cl.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(cl)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
		e := <-werr
		if string(got) != "A" || !errors.Is(e, ErrWriteClosed) {
			t.Fatalf("peer read %q then EOF, Write returned %v; want %q and ErrWriteClosed", got, e, "A")
		}
	})
}

// Many goroutines' AsyncWrites interleaved with loop Writes and Writevs (from
// a timer and Execute funcs): each goroutine's records arrive in order, every
// done callback runs once with nil.
func TestReview19StressOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan *Conn, 1)
		h := HandlerFuncs{Open: func(c *Conn) { opened <- c }}
		s, cl, c := startOpened(t, b, h, opened)
		_ = s
		const G, N = 4, 1500
		var dones [G][N]atomic.Int32
		var wg sync.WaitGroup
		stop := make(chan struct{})

		k := 0
		var tick func()
		tick = func() {
			select {
			case <-stop:
				return
			default:
			}
			k++
			if k%2 == 0 {
				c.Write([]byte(fmt.Sprintf("L:%d\n", k)))
			} else {
				c.Writev([][]byte{[]byte("L:"), []byte(fmt.Sprintf("%d\n", k))})
			}
			c.Loop().AfterFunc(100*time.Microsecond, tick)
		}
		c.Loop().Execute(tick)
		for g := 0; g < G; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < N; i++ {
					rec := []byte(fmt.Sprintf("%d:%d\n", g, i))
					i := i
					for {
						err := c.AsyncWrite(rec, func(err error) {
							if err != nil {
								panic(err)
							}
							dones[g][i].Add(1)
						})
						if err == nil {
							break
						}
						time.Sleep(time.Millisecond)
					}
					if i%50 == 0 {
						c.Loop().Execute(func() { c.Write([]byte("E:0\n")) })
					}
				}
			}(g)
		}
		next := make([]int, G)
		cl.SetReadDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(cl)
		for total := 0; total < G*N; {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var g, i int
			if line[0] == 'L' || line[0] == 'E' {
				continue
			}
			fmt.Sscanf(line, "%d:%d", &g, &i)
			if i != next[g] {
				t.Fatalf("goroutine %d: record %d, want %d", g, i, next[g])
			}
			next[g]++
			total++
		}
		wg.Wait()
		close(stop)

		time.Sleep(50 * time.Millisecond)
		for g := range dones {
			for i := range dones[g] {
				if n := dones[g][i].Load(); n != 1 {
					t.Fatalf("done %d:%d ran %d times", g, i, n)
				}
			}
		}
	})
}
