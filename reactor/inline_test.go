//go:build linux

package reactor

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// goServer serves lines: "block <id>" runs a Loop.Go func that waits until
// release(id) and answers "<id> <where f ended> <where then ran>";
// "wait" runs one that waits for a func it queued on the loop with Execute;
// "panic" one that panics; "fast" one that returns at once; anything else
// is echoed from the handler. Where f ended is "loop" when its goroutine is
// the loop's owner when then runs (f was not taken over), else "off"; then
// is "loop" when it runs on the owner.
type goServer struct {
	mu      sync.Mutex
	release map[string]chan struct{}
}

func newGoServer() *goServer { return &goServer{release: map[string]chan struct{}{}} }

func (g *goServer) gate(id string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch, ok := g.release[id]
	if !ok {
		ch = make(chan struct{})
		g.release[id] = ch
	}
	return ch
}

func where(l *Loop, gid int64) string {
	if l.owner.Load() == gid {
		return "loop"
	}
	return "off"
}

func (g *goServer) handler() HandlerFuncs {
	return HandlerFuncs{Data: func(c *Conn, d []byte) int {
		n := 0
		for {
			i := strings.IndexByte(string(d[n:]), '\n')
			if i < 0 {
				return n
			}
			g.line(c, string(d[n:n+i]))
			n += i + 1
		}
	}}
}

func (g *goServer) line(c *Conn, line string) {
	{
		l := c.Loop()
		// reply is f's continuation; f calls it last, on its goroutine.
		reply := func(s string) func() {
			f := curGoroutineID()
			return func() {
				c.Write([]byte(s + " " + where(l, f) + " " + where(l, curGoroutineID()) + "\n"))
			}
		}
		var f func() func()
		switch {
		case strings.HasPrefix(line, "block "):
			id := strings.TrimPrefix(line, "block ")
			ch := g.gate(id)
			f = func() func() {
				<-ch
				return reply(id)
			}
		case line == "wait":
			f = func() func() {
				done := make(chan struct{})
				if err := l.Execute(func() { close(done) }); err != nil {
					return nil
				}
				<-done
				return reply("waited")
			}
		case line == "panic":
			f = func() func() { panic("inline boom") }
		case line == "exit":
			f = func() func() { runtime.Goexit(); return nil }
		case line == "fast":
			f = func() func() { return reply("fast") }
		default:
			c.Write([]byte(line + "\n"))
			return
		}
		if !l.Go(f) {
			c.Write([]byte("refused\n"))
		}
	}
}

func lineConn(t *testing.T, s *Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dial(t, s)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

func ask(t *testing.T, c net.Conn, r *bufio.Reader, line string) string {
	t.Helper()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return strings.TrimSuffix(got, "\n")
}

// A Go func that does not block runs on the loop goroutine, and so does its
// continuation, yet the func counts as off the loop (onLoop is false in it);
// a loop locked to its thread refuses Go.
func TestLoopGoInline(t *testing.T) {
	// One P: a standby runs only when f blocks or yields (with more, an idle P
	// may steal it and take the loop over while f runs, which is correct but
	// not what this test looks at).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	g := newGoServer()
	s := start(t, BackendEpoll, g.handler(), WithParkedLoops(true), WithLoops(1))
	c, r := lineConn(t, s)
	for i := 0; i < 100; i++ {
		if got := ask(t, c, r, "fast"); got != "fast loop loop" {
			t.Fatalf("round %d: %q, want f and then on the loop", i, got)
		}
	}
	onLoop := make(chan bool, 1)
	l := s.Loops()[0]
	if err := l.Execute(func() {
		l.Go(func() func() { onLoop <- l.onLoop(); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if <-onLoop {
		t.Fatal("onLoop is true inside a Go func")
	}
	locked := start(t, BackendEpoll, g.handler(), WithLoops(1))
	lc, lr := lineConn(t, locked)
	if got := ask(t, lc, lr, "fast"); got != "refused" {
		t.Fatalf("locked loop: %q, want Go refused", got)
	}
}

// While Go funcs block, the loop moves to standby goroutines and keeps
// serving; each blocked func finishes off the loop once released, and its
// continuation runs on the loop. Afterwards, and after Close, no goroutine
// is left.
func TestLoopGoTakeover(t *testing.T) {
	before := snapshot()
	g := newGoServer()
	s := start(t, BackendEpoll, g.handler(), WithParkedLoops(true), WithLoops(1))
	const blocked = 8
	type side struct {
		c net.Conn
		r *bufio.Reader
	}
	var bs []side
	for i := 0; i < blocked; i++ {
		c, r := lineConn(t, s)
		if _, err := fmt.Fprintf(c, "block b%d\n", i); err != nil {
			t.Fatal(err)
		}
		bs = append(bs, side{c, r})
	}
	// The loop serves other conns while all of them wait.
	c, r := lineConn(t, s)
	for i := 0; i < 50; i++ {
		if got := ask(t, c, r, fmt.Sprintf("echo %d", i)); got != fmt.Sprintf("echo %d", i) {
			t.Fatalf("echo %d: %q", i, got)
		}
	}
	if got := ask(t, c, r, "wait"); got != "waited off loop" {
		t.Fatalf("a Go func waiting for the loop: %q, want it finished off the loop, then on it", got)
	}
	for i := blocked - 1; i >= 0; i-- {
		close(g.gate(fmt.Sprintf("b%d", i)))
		got, err := bs[i].r.ReadString('\n')
		if want := fmt.Sprintf("b%d off loop\n", i); err != nil || got != want {
			t.Fatalf("blocked %d: %q %v, want %q", i, got, err, want)
		}
	}
	// f may end off the loop here: with several Ps, an idle one can run the
	// standby while f runs.
	if got := ask(t, c, r, "fast"); !strings.HasSuffix(got, " loop") {
		t.Fatalf("after the takeovers: %q, want the continuation on the loop", got)
	}
	done := make(chan int, 1)
	s.Loops()[0].Execute(func() { done <- s.Loops()[0].nTakeovers })
	if n := <-done; n < blocked {
		t.Fatalf("%d takeovers, want at least %d (one per blocked func)", n, blocked)
	}
	for _, b := range bs {
		b.c.Close()
	}
	c.Close()
	s.Close()
	checkNoLeaks(t, before)
}

// A panic in a Go func is logged and costs only its continuation; Close
// with a func still blocked returns, drops the continuation, and once the
// func returns nothing is left.
func TestLoopGoPanicAndClose(t *testing.T) {
	before := snapshot()
	logs := &logBuf{}
	g := newGoServer()
	s := start(t, BackendEpoll, g.handler(), WithParkedLoops(true), WithLoops(1), WithLogger(slogTo(logs)))
	c, r := lineConn(t, s)
	if _, err := c.Write([]byte("panic\n")); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, c, r, "after the panic"); got != "after the panic" {
		t.Fatalf("%q", got)
	}
	// With several Ps the echo may leave before f panics (a standby can take
	// the loop over while f runs), so the log is polled.
	for i := 0; i < 500 && !strings.Contains(logs.String(), "inline boom"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "inline boom") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
	bc, _ := lineConn(t, s)
	if _, err := bc.Write([]byte("block stuck\n")); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, c, r, "still serving"); got != "still serving" {
		t.Fatalf("%q", got)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a blocked Go func")
	}
	close(g.gate("stuck"))
	c.Close()
	bc.Close()
	checkNoLeaks(t, before)
}

// A Go func that ends its goroutine (runtime.Goexit) takes the goroutine it runs on with it,
// the loop's own or a standby serving the loop: a standby serves the loop on, and Close leaves
// no goroutine behind (the standby count stays right).
func TestLoopGoGoexit(t *testing.T) {
	before := snapshot()
	g := newGoServer()
	s := start(t, BackendEpoll, g.handler(), WithParkedLoops(true), WithLoops(1))
	c, r := lineConn(t, s)
	for i := range 3 {
		if _, err := c.Write([]byte("exit\n")); err != nil {
			t.Fatal(err)
		}
		if got := ask(t, c, r, fmt.Sprint("after exit ", i)); got != fmt.Sprint("after exit ", i) {
			t.Fatalf("%q", got)
		}
	}
	if got := ask(t, c, r, "fast"); !strings.HasPrefix(got, "fast ") {
		t.Fatalf("%q", got)
	}
	l := s.Loops()[0]
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	checkNoLeaks(t, before)
	if n := l.standbyLive.Load(); n != 0 {
		t.Fatalf("standby count %d after Close, want 0", n)
	}
}
