//go:build linux

package reactor

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// closeWriteHandler answers the first line it reads with resp and then
// shuts down its write side (inline: Write then CloseWrite on the loop;
// async: AsyncWrites from another goroutine, then CloseWrite there). It
// keeps reading: what comes after is collected until the peer's EOF, which
// it answers with Close.
type closeWriteHandler struct {
	async bool
	resp  []byte

	mu         sync.Mutex
	after      []byte // input after the answer
	lateWrite  error  // Write (inline) or AsyncWrite's done (async) after CloseWrite
	closeWrErr error
	closeErr   error
	closed     chan struct{}
	asyncDone  chan struct{} // closed once the async leg recorded its results
}

type cwState struct {
	req      []byte
	answered bool
}

func (h *closeWriteHandler) OnOpen(c *Conn) { c.SetContext(&cwState{}) }

func (h *closeWriteHandler) OnData(c *Conn, d []byte) int {
	st := c.Context().(*cwState)
	if st.answered {
		h.mu.Lock()
		h.after = append(h.after, d...)
		h.mu.Unlock()
		return len(d)
	}
	st.req = append(st.req, d...)
	if !bytes.Contains(st.req, []byte("\n")) {
		return len(d)
	}
	st.answered = true
	if !h.async {
		c.Write(h.resp)
		err := c.CloseWrite()
		_, late := c.Write([]byte("late"))
		h.mu.Lock()
		h.closeWrErr, h.lateWrite = err, late
		h.mu.Unlock()
		return len(d)
	}
	go func() {
		for b := h.resp; len(b) > 0; {
			n := min(len(b), 256<<10)
			for c.AsyncWrite(append([]byte(nil), b[:n]...), nil) == ErrQueueFull {
				time.Sleep(time.Millisecond) // the client reads only after the FIN is due
			}
			b = b[n:]
		}
		err := c.CloseWrite()
		late := make(chan error, 1)
		lateErr := ErrQueueFull // the 4 MiB may still fill the queue: retry as above
		for lateErr == ErrQueueFull {
			if lateErr = c.AsyncWrite([]byte("late"), func(err error) { late <- err }); lateErr == ErrQueueFull {
				time.Sleep(time.Millisecond)
			}
		}
		if lateErr == nil {
			lateErr = <-late // not under h.mu: the loop may be in OnData, which takes it
		}
		h.mu.Lock()
		h.closeWrErr, h.lateWrite = err, lateErr
		h.mu.Unlock()
		close(h.asyncDone)
	}()
	return len(d)
}

func (h *closeWriteHandler) OnReadEOF(c *Conn) { c.Close() }

func (h *closeWriteHandler) OnClose(c *Conn, err error) {
	h.mu.Lock()
	h.closeErr = err
	h.mu.Unlock()
	close(h.closed)
}

// TestCloseWrite: the peer reads all the output queued before CloseWrite
// (4 MiB, far more than the socket buffers hold, read only after the call),
// then EOF; writes after it fail with ErrWriteClosed and send nothing; the
// conn goes on reading until the peer's own EOF.
func TestCloseWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		for _, async := range []bool{false, true} {
			name := "inline"
			if async {
				name = "async"
			}
			t.Run(name, func(t *testing.T) {
				h := &closeWriteHandler{async: async, resp: pattern(4<<20, 7), closed: make(chan struct{}), asyncDone: make(chan struct{})}
				s := start(t, b, h)
				c := dial(t, s)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Write([]byte("GET\n")); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond) // CloseWrite comes while most of resp is queued
				got, err := io.ReadAll(c)         // ends only at the FIN
				if err != nil {
					t.Fatalf("read: %v after %d bytes", err, len(got))
				}
				if len(got) != len(h.resp) || sha256.Sum256(got) != sha256.Sum256(h.resp) {
					t.Fatalf("got %d bytes before EOF, want the %d written before CloseWrite", len(got), len(h.resp))
				}
				// The server still reads: what is sent now reaches it, then our EOF closes it.
				if _, err := c.Write([]byte("after the FIN")); err != nil {
					t.Fatal(err)
				}
				c.CloseWrite()
				select {
				case <-h.closed:
				case <-time.After(10 * time.Second):
					t.Fatal("conn not closed after the client's EOF")
				}
				if async {
					<-h.asyncDone
				}
				h.mu.Lock()
				defer h.mu.Unlock()
				if h.closeWrErr != nil {
					t.Fatalf("CloseWrite: %v", h.closeWrErr)
				}
				if !errors.Is(h.lateWrite, ErrWriteClosed) {
					t.Fatalf("write after CloseWrite: %v, want ErrWriteClosed", h.lateWrite)
				}
				if string(h.after) != "after the FIN" {
					t.Fatalf("input after CloseWrite: %q", h.after)
				}
				if h.closeErr != nil {
					t.Fatalf("OnClose: %v", h.closeErr)
				}
			})
		}
	})
}

// TestCloseWriteDialing: CloseWrite on a dialed conn still connecting
// applies once it is connected, after the bytes written before it.
func TestCloseWriteDialing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		s := start(t, b, echoHandler())
		errc := make(chan error, 1)
		if err := s.Loops()[0].Execute(func() {
			c, err := s.Loops()[0].Dial("tcp", ln.Addr().String(), HandlerFuncs{})
			if err == nil {
				_, err = c.Write([]byte("request"))
			}
			if err == nil {
				err = c.CloseWrite()
			}
			errc <- err
		}); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		up, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer up.Close()
		up.SetDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(up)
		if err != nil || string(got) != "request" {
			t.Fatalf("upstream read %q, %v; want the request, then EOF", got, err)
		}
	})
}

// TestCloseWriteAfterAsyncWriteOnLoop: on the loop, a CloseWrite right behind an AsyncWrite (still
// in the task queue), or behind an empty one, must not overtake it, and a Write after it fails at
// once all the same.
func TestCloseWriteAfterAsyncWriteOnLoop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		emptyDone := make(chan error, 1)
		s := start(t, b, HandlerFuncs{Data: func(c *Conn, d []byte) int {
			if err := c.AsyncWrite(nil, func(err error) { emptyDone <- err }); err != nil {
				panic(err)
			}
			if err := c.AsyncWrite(append([]byte(nil), d...), nil); err != nil {
				panic(err)
			}
			if err := c.CloseWrite(); err != nil {
				panic(err)
			}
			if _, err := c.Write([]byte("after CloseWrite")); err != ErrWriteClosed {
				panic(fmt.Sprintf("Write after CloseWrite: %v", err))
			}
			return len(d)
		}})
		c := dial(t, s)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("first and only")); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "first and only" {
			t.Fatalf("got %q, %v", got, err)
		}
		if err := <-emptyDone; err != nil {
			t.Fatalf("an empty AsyncWrite queued before CloseWrite: %v", err)
		}
	})
}
