//go:build linux

package reactor

import (
	"io"
	"net"
	"testing"
	"time"
)

// With a registered file table smaller than the number of conns, conns in
// it (recv and send by slot) and conns beyond it (by fd) both echo, and a
// server-side Close of either kind reaches the client as EOF: the table's
// reference to the socket is dropped before its fd is closed.
func TestRegisteredFiles(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	const conns = 6
	opened := make(chan *Conn, conns)
	h := echoHandler()
	h.Open = func(c *Conn) { opened <- c }
	s := start(t, BackendUring, h, WithLoops(1), withFileSlots(2))
	clients := make([]net.Conn, conns)
	server := make([]*Conn, conns)
	for i := range clients {
		clients[i] = dial(t, s)
		echoRoundTrip(t, clients[i], pattern(100000, byte(i)))
		select {
		case server[i] = <-opened:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnOpen")
		}
	}
	l := s.Loops()[0]
	fixed := make(chan int, 1)
	l.Execute(func() {
		n := 0
		for _, c := range server {
			if l.b.(*uringBackend).fixed(c) {
				n++
			}
		}
		fixed <- n
	})
	if n := <-fixed; n != 2 {
		t.Fatalf("%d conns in the registered file table, want 2 (its size)", n)
	}
	for i, c := range server {
		c.Close()
		clients[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := clients[i].Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("conn %d: read after server close = %d, %v; want EOF", i, n, err)
		}
	}
	// The freed slots are reused: new conns go into the table again.
	for i := range 2 {
		echoRoundTrip(t, dial(t, s), pattern(1000, byte(i)))
	}
}

// By default every conn of an io_uring loop is in its registered file table.
func TestRegisteredFilesDefault(t *testing.T) {
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring unusable here: %v", err)
	}
	opened := make(chan *Conn, 1)
	h := echoHandler()
	h.Open = func(c *Conn) { opened <- c }
	s := start(t, BackendUring, h, WithLoops(1))
	echoRoundTrip(t, dial(t, s), pattern(1000, 1))
	c := <-opened
	fixed := make(chan bool, 1)
	c.Loop().Execute(func() { fixed <- c.Loop().b.(*uringBackend).fixed(c) })
	if !<-fixed {
		t.Fatal("conn not in the registered file table")
	}
}
