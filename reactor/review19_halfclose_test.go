//go:build linux

package reactor

import (
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"time"
)

type review19EOF struct {
	HandlerFuncs
	eof func(c *Conn)
}

func (h review19EOF) OnReadEOF(c *Conn) { h.eof(c) }

// After the peer's FIN (ReadEOFHandler), the server answers with writes of
// every shape, then CloseWrite; later writes fail; the peer reads every byte
// in order, then EOF.
func TestReview19HalfCloseWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		expCh := make(chan []byte, 1)
		errs := make(chan error, 4)
		h := review19EOF{HandlerFuncs: HandlerFuncs{Data: func(c *Conn, d []byte) int { return len(d) }}}
		h.eof = func(c *Conn) {
			var exp []byte
			ab := pattern(1<<20, 42)
			if err := c.AsyncWrite(ab, func(err error) {
				if err != nil {
					errs <- err
				}
				for i := range ab {
					ab[i] = 0
				}
			}); err != nil {
				errs <- err
			}
			// The loop's own writes queue behind its AsyncWrite.
			exp = append(exp, ab...)
			review19Producer(c, &exp)
			c.Loop().Execute(func() {
				if err := c.CloseWrite(); err != nil {
					errs <- err
				}
				if _, err := c.Write([]byte("late")); !errors.Is(err, ErrWriteClosed) {
					errs <- errors.New("Write after CloseWrite did not fail")
				}
				if _, err := c.Writev([][]byte{[]byte("late")}); !errors.Is(err, ErrWriteClosed) {
					errs <- errors.New("Writev after CloseWrite did not fail")
				}
				expCh <- exp
			})
		}
		s := start(t, b, h, WithLoops(1))
		cl := dial(t, s)
		cl.SetDeadline(time.Now().Add(120 * time.Second))
		cl.Write([]byte("hello"))
		cl.CloseWrite()
		got, err := io.ReadAll(cl)
		if err != nil {
			t.Fatal(err)
		}
		exp := <-expCh
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		if len(got) != len(exp) || sha256.Sum256(got) != sha256.Sum256(exp) {
			t.Fatalf("got %d bytes, want %d", len(got), len(exp))
		}
	})
}
