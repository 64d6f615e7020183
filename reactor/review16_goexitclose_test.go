//go:build linux

package reactor

import (
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// A runtime.Goexit in OnClose while Server.Close tears the loop down (a test
// handler's t.Fatal on ErrServerClosed): finishRest never reaches the
// backend's shutdown of that conn, so the resumed teardown (endAfterGoexit)
// waits for a conn nobody will release, 200 waits of 10 ms, before it closes
// the rest by force. Close must not take seconds, and each client must see
// its conn closed promptly.
func TestGoexitInOnCloseDoesNotDelayClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		opened := make(chan struct{}, 4)
		var exits atomic.Int32
		s := startNoCleanup(t, b, HandlerFuncs{
			Open: func(*Conn) { opened <- struct{}{} },
			Data: func(c *Conn, d []byte) int { return len(d) },
			Close: func(c *Conn, err error) {
				if errors.Is(err, ErrServerClosed) && exits.Add(1) == 1 {
					runtime.Goexit() // t.Fatalf("unexpected close: %v", err)
				}
			},
		})
		var cls []net.Conn
		for range 2 {
			nc, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			cls = append(cls, nc)
			<-opened
		}
		t0 := time.Now()
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Close hangs")
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("Server.Close took %v after a Goexit in OnClose", d)
		}
		for i, nc := range cls {
			nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := nc.Read(make([]byte, 1)); isTimeout(err) {
				t.Errorf("client %d: server conn not closed: %v", i, err)
			}
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
