//go:build linux

package reactor

import (
	"crypto/sha256"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// review19Stream builds, on the loop, a stream of writes of every shape and
// returns the expected bytes.
func review19Producer(c *Conn, exp *[]byte) {
	add := func(b []byte) { *exp = append(*exp, b...) }
	// 5,000 tiny Writev slices.
	var bs [][]byte
	for i := 0; i < 5000; i++ {
		b := pattern(1+i%7, byte(i))
		bs = append(bs, b)
		add(b)
	}
	bs = append(bs, nil, []byte{})
	c.Writev(bs)
	// Mutate after Writev returned.
	for _, b := range bs {
		for i := range b {
			b[i] ^= 0xff
		}
	}
	// Zero-length writes.
	c.Write(nil)
	c.Write([]byte{})
	// A mid-size write (direct-send candidate), mutated after.
	m := pattern(20000, 9)
	add(m)
	c.Write(m)
	for i := range m {
		m[i] = 0
	}
	// Huge.
	h := pattern(8<<20, 3)
	add(h)
	c.Write(h)
	for i := 0; i < len(h); i += 4096 {
		h[i]++
	}
	// Tiny after huge.
	for i := 0; i < 100; i++ {
		b := pattern(1+i%3, byte(i+77))
		add(b)
		c.Write(b)
		b[0]++
	}
	big := pattern(3<<20, 5)
	add(big)
	c.Writev([][]byte{big, {1}, big[:17]})
	add([]byte{1})
	add(big[:17])
}

func TestReview19MixedWritesSlowReader(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		expCh := make(chan []byte, 1)
		h := HandlerFuncs{Open: func(c *Conn) {
			unix.SetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
			var exp []byte
			review19Producer(c, &exp)
			expCh <- exp
			c.Close()
		}}
		s := start(t, b, h, WithLoops(1))
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 2048)
			})
		}}
		cl, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		cl.SetDeadline(time.Now().Add(120 * time.Second))
		// Slow start: small reads with pauses.
		var got []byte
		buf := make([]byte, 512)
		for i := 0; i < 50; i++ {
			n, err := cl.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		rest, err := io.ReadAll(cl)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rest...)
		exp := <-expCh
		if len(got) != len(exp) || sha256.Sum256(got) != sha256.Sum256(exp) {
			i := 0
			for i < len(got) && i < len(exp) && got[i] == exp[i] {
				i++
			}
			t.Fatalf("got %d bytes, want %d; first difference at %d", len(got), len(exp), i)
		}
	})
}
