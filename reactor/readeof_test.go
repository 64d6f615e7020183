//go:build linux

package reactor

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor/reactortest"
)

// halfCloseHandler collects a request until the peer's FIN, then answers
// from OnReadEOF: inline (Write then Close on the loop) or from another
// goroutine (AsyncWrite of several chunks, then Close).
type halfCloseHandler struct {
	async      bool
	answer     func(req []byte) []byte
	rec        *closeRecorder
	eofs       atomic.Int32
	dataAfter  atomic.Int32 // OnData calls after OnReadEOF (must stay 0)
	asyncErr   atomic.Value // first AsyncWrite/done error
	openBefore atomic.Int32 // OnReadEOF saw a conn that could still write
}

type halfCloseState struct {
	req []byte
	eof bool
}

func (h *halfCloseHandler) OnOpen(c *Conn) { c.SetContext(&halfCloseState{}) }

func (h *halfCloseHandler) OnData(c *Conn, d []byte) int {
	st := c.Context().(*halfCloseState)
	if st.eof {
		h.dataAfter.Add(1)
	}
	st.req = append(st.req, d...)
	return len(d)
}

func (h *halfCloseHandler) OnReadEOF(c *Conn) {
	st := c.Context().(*halfCloseState)
	st.eof = true
	h.eofs.Add(1)
	ans := h.answer(st.req)
	if !h.async {
		if _, err := c.Write(ans); err == nil {
			h.openBefore.Add(1)
		}
		c.Close()
		return
	}
	go func() {
		time.Sleep(20 * time.Millisecond) // the conn stays open meanwhile
		h.openBefore.Add(1)
		for len(ans) > 0 {
			n := min(len(ans), 100<<10)
			chunk := append([]byte(nil), ans[:n]...) // AsyncWrite takes ownership
			ans = ans[n:]
			if err := c.AsyncWrite(chunk, func(err error) {
				if err != nil {
					h.asyncErr.CompareAndSwap(nil, err)
				}
			}); err != nil {
				h.asyncErr.CompareAndSwap(nil, err)
				return
			}
		}
		c.Close()
	}()
}

func (h *halfCloseHandler) OnClose(c *Conn, err error) { h.rec.record(c, err) }

// halfCloseAnswer is a deterministic answer larger than socket buffers,
// derived from the request: its length and digest, then a pattern.
func halfCloseAnswer(req []byte) []byte {
	sum := sha256.Sum256(req)
	out := append([]byte{}, sum[:]...)
	out = append(out, byte(len(req)>>24), byte(len(req)>>16), byte(len(req)>>8), byte(len(req)))
	return append(out, pattern(700<<10, sum[0])...)
}

func TestReadEOFHandlerAnswersAfterHalfClose(t *testing.T) {
	for _, mode := range []string{"inline", "async"} {
		t.Run(mode, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b Backend) {
				h := &halfCloseHandler{async: mode == "async", answer: halfCloseAnswer, rec: newCloseRecorder()}
				s := start(t, b, h)
				for i, size := range []int{1, 5000, 300 << 10} {
					c := dial(t, s)
					req := pattern(size, byte(i))
					c.SetDeadline(time.Now().Add(30 * time.Second))
					werr := make(chan error, 1)
					go func() {
						_, err := c.Write(req)
						if err == nil {
							err = c.CloseWrite() // shutdown(SHUT_WR) after the request
						}
						werr <- err
					}()
					got, err := io.ReadAll(c) // the whole answer, then the server's FIN
					if err != nil {
						t.Fatalf("read answer: %v", err)
					}
					if err := <-werr; err != nil {
						t.Fatalf("write request: %v", err)
					}
					if want := halfCloseAnswer(req); !bytes.Equal(got, want) {
						t.Fatalf("answer to %d-byte request: got %d bytes, want %d (equal prefix: %v)",
							size, len(got), len(want), bytes.HasPrefix(want, got))
					}
					if err := h.rec.next(t); err != nil {
						t.Fatalf("OnClose after a half-close answered: %v, want nil", err)
					}
					c.Close()
				}
				if n := h.eofs.Load(); n != 3 {
					t.Fatalf("OnReadEOF ran %d times, want 3", n)
				}
				if n := h.openBefore.Load(); n != 3 {
					t.Fatalf("conn writable after OnReadEOF %d times of 3", n)
				}
				if n := h.dataAfter.Load(); n != 0 {
					t.Fatalf("OnData called %d times after OnReadEOF", n)
				}
				if err, _ := h.asyncErr.Load().(error); err != nil {
					t.Fatalf("AsyncWrite after OnReadEOF: %v", err)
				}
				reactortest.WaitUntil(t, 10*time.Second, "conns released", func() bool { return s.NumConns() == 0 })
			})
		})
	}
}

// TestReadEOFHandlerPeerResetAfterEOF: after OnReadEOF the conn stays open
// without a Close (a later Write from Execute reaches the peer), and a peer
// reset ends it with the socket error.
func TestReadEOFHandlerPeerResetAfterEOF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		eofc := make(chan *Conn, 1)
		rec := newCloseRecorder()
		h := &readEOFFuncs{HandlerFuncs: HandlerFuncs{Close: rec.record}, eof: func(c *Conn) { eofc <- c }}
		s := start(t, b, h)
		c := dial(t, s)
		c.Write([]byte("hello"))
		c.CloseWrite()
		var sc *Conn
		select {
		case sc = <-eofc:
		case <-time.After(20 * time.Second):
			t.Fatal("OnReadEOF not called")
		}
		// Still open for writing: a Write on the loop reaches the peer.
		wrote := make(chan error, 1)
		sc.Loop().Execute(func() {
			_, err := sc.Write([]byte("late answer"))
			wrote <- err
		})
		if err := <-wrote; err != nil {
			t.Fatalf("Write after OnReadEOF: %v", err)
		}
		buf := make([]byte, len("late answer"))
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "late answer" {
			t.Fatalf("late answer: %q, %v", buf, err)
		}
		select {
		case err := <-rec.ch:
			t.Fatalf("conn closed after OnReadEOF without Close: %v", err)
		default:
		}
		c.SetLinger(0)
		c.Close() // RST: a later write fails
		var err error
		for i := 0; ; i++ {
			sc.Loop().Execute(func() { sc.Write([]byte("into the void")) })
			select {
			case err = <-rec.ch:
			case <-time.After(20 * time.Millisecond):
				if i < 1000 {
					continue
				}
				t.Fatal("OnClose not called after the peer reset")
			}
			break
		}
		if err == nil || errors.Is(err, ErrClosed) {
			t.Fatalf("OnClose after the peer reset: %v, want the socket error", err)
		}
	})
}

type readEOFFuncs struct {
	HandlerFuncs
	eof func(*Conn)
}

func (h *readEOFFuncs) OnReadEOF(c *Conn) { h.eof(c) }
