//go:build linux

package reactor

import (
	"net"
	"sync"
	"testing"
	"time"
)

// While the CQ keeps overflowing (a small CQ under a steady stream), one
// wait's drain must still end: the loop has tasks to run, timers to fire and
// Close to obey. On the code before the fix the drain looped as long as the
// kernel reported overflow: an Execute'd func waited, and Server.Close did
// not return, until the clients stopped sending.
// Under a steady stream into a small CQ, each flush of the overflow list
// runs task work that completes more, so the kernel reported overflow for
// ever and one drain in wait never returned: Execute funcs, timers and
// Close starved until the peers stopped sending.
func TestReview20OverflowDrainDoesNotStarveLoop(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skip(err)
	}
	raiseNoFile(t, 1024)
	for _, gen := range kernelGenerations {
		t.Run(gen.name, func(t *testing.T) {
			s, err := Listen("tcp", "127.0.0.1:0", echoHandler(), WithBackend(BackendUring), WithLoops(1),
				WithLogger(quietLogger()), withFeatureMask(gen.mask), withRingSizes(4, 8), WithBufferRing(512, 8))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			defer s.Close() // after the clients' cleanup below (deferred later, runs first)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var conns []net.Conn
			defer func() {
				close(stop)
				for _, c := range conns {
					c.Close()
				}
				wg.Wait()
			}()
			for range 32 {
				c, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				wg.Add(2)
				go func() { // writer
					defer wg.Done()
					buf := make([]byte, 32<<10)
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := c.Write(buf); err != nil {
							return
						}
					}
				}()
				go func() { // reader
					defer wg.Done()
					buf := make([]byte, 8<<10)
					for {
						if _, err := c.Read(buf); err != nil {
							return
						}
					}
				}()
			}
			time.Sleep(300 * time.Millisecond)
			l := s.Loops()[0]
			// A task on the loop must run soon, though the conns stay busy.
			for i := range 5 {
				ran := make(chan struct{})
				t0 := time.Now()
				if err := l.Execute(func() { close(ran) }); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ran:
				case <-time.After(5 * time.Second):
					t.Fatalf("Execute #%d: not run within 5s while the CQ overflowed", i)
				}
				t.Logf("Execute #%d ran after %v", i, time.Since(t0))
			}
			// And Close must return though the clients keep sending.
			done := make(chan struct{})
			t0 := time.Now()
			go func() { s.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("Server.Close not done after 10s while the clients kept sending")
			}
			t.Logf("Close took %v", time.Since(t0))
		})
	}
}
