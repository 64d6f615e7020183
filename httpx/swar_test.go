package httpx

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

// The word-at-a-time scans agree with the byte loops they replace, on random inputs built
// from the bytes at the edges of each class.
func TestWordScans(t *testing.T) {
	refCtl := func(b []byte) int {
		for i, c := range b {
			if c < 0x20 || c == 0x7f {
				return i
			}
		}
		return len(b)
	}
	refTarget := func(b []byte) int {
		for i, c := range b {
			if c <= ' ' || c >= 0x7f {
				return i
			}
		}
		return len(b)
	}
	edges := []byte{0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff}
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 0, 40)
	for n := range 300000 {
		buf = buf[:0]
		for range r.IntN(40) {
			if r.IntN(8) == 0 {
				buf = append(buf, edges[r.IntN(len(edges))])
			} else {
				buf = append(buf, byte(0x21+r.IntN(0x5e))) // visible ASCII
			}
		}
		if n%2 == 0 && len(buf) > 0 {
			buf[len(buf)-1] = edges[r.IntN(len(edges))] // a stop byte late in the buffer
		}
		if got, want := ctlIndex(buf), refCtl(buf); got != want {
			t.Fatalf("ctlIndex(%q) = %d, want %d", buf, got, want)
		}
		if got, want := targetEnd(buf), refTarget(buf); got != want {
			t.Fatalf("targetEnd(%q) = %d, want %d", buf, got, want)
		}
	}
}

// The loop's cached response head matches a head built from scratch whatever changes between
// responses: status, Content-Type, length, the second of the Date.
func TestHeadPrefixCache(t *testing.T) {
	now := time.Unix(1700000000, 0)
	d := newLoopCache(now)
	steps := []struct {
		status int
		ctype  string
		length int64
		tick   bool
	}{
		{200, "text/plain", 13, false}, {200, "text/plain", 13, false}, {200, "text/plain", 7, false},
		{200, "text/html", 7, false}, {404, "text/html", 7, false}, {404, "", 0, false},
		{404, "", 0, true}, {200, "text/plain", 1234567, false}, {200, "text/plain", 13, true},
	}
	for i, s := range steps {
		if s.tick {
			now = now.Add(time.Second)
			d.update(now)
		}
		want := fmt.Sprintf("HTTP/1.1 %d %s\r\nDate: %s\r\n", s.status, http.StatusText(s.status),
			now.UTC().Format(http.TimeFormat))
		if s.ctype != "" {
			want += "Content-Type: " + s.ctype + "\r\n"
		}
		want += fmt.Sprintf("Content-Length: %d\r\n\r\n", s.length)
		if got := string(d.headPrefix(s.status, []byte(s.ctype), s.length)); got != want {
			t.Fatalf("step %d: head %q, want %q", i, got, want)
		}
	}
}

// The parser's word constants are their strings as little-endian loads.
func TestWordConstants(t *testing.T) {
	le64 := func(s string) uint64 { return binary.LittleEndian.Uint64([]byte(s)) }
	le32 := func(s string) uint32 { return binary.LittleEndian.Uint32([]byte(s)) }
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"hostLine", hostLine, le64("Host: \x00\x00")},
		{"version11Lo", version11Lo, le64(" HTTP/1.")},
		{"version11Hi", version11Hi, uint64(le32(".1\r\n"))},
		{"methodGET", methodGET, uint64(le32("GET "))},
		{"hostName", hostName, uint64(le32("host"))},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}
