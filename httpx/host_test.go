package httpx

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// validHostRef is the plain two-pass form of validHost's reg-name branch
// (find the last colon, check the host before it and the digits after). Percent-encoded
// octets are refused (see validHost).
func validHostRef(v []byte) bool {
	if len(v) == 0 || v[0] == '[' {
		return validHost(v) // the IP-literal branch is shared
	}
	hostEnd := len(v)
	if c := bytes.LastIndexByte(v, ':'); c >= 0 {
		hostEnd = c
	}
	for _, c := range v[:hostEnd] {
		if charClass[c]&clsRegName == 0 {
			return false
		}
	}
	for _, c := range v[min(hostEnd+1, len(v)):] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func TestValidHost(t *testing.T) {
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{"", true}, {"a", true}, {"example.com", true}, {"127.0.0.1:8080", true}, {"a:", true},
		{":80", true}, {"a%41b", false}, {"a%4", false}, {"a%4:80", false}, {"a%zz", false},
		{"a:8x", false}, {"a:80:81", false}, {"a b", false}, {"a:%41", false}, {"\xffa", false},
		{"[::1]:8080", true}, {"[::1]", true}, {"[]", false}, {"[::1]x", false}, {"a@b", false},
		{"sub-delims!$&'()*+,;=", true}, {"a/b", false}, {"a?b", false},
	} {
		if got := validHost([]byte(c.v)); got != c.ok {
			t.Errorf("validHost(%q) = %v, want %v", c.v, got, c.ok)
		}
		if ref := validHostRef([]byte(c.v)); ref != c.ok {
			t.Errorf("validHostRef(%q) = %v, want %v", c.v, ref, c.ok)
		}
	}
	// The one-pass form agrees with the two-pass form on random values
	// drawn from the bytes that matter.
	alphabet := []byte("ab09.-:%fF[]@ \x00\xff")
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, 12)
	for range 200000 {
		buf = buf[:0]
		for range r.IntN(12) {
			buf = append(buf, alphabet[r.IntN(len(alphabet))])
		}
		if got, want := validHost(buf), validHostRef(buf); got != want {
			t.Fatalf("validHost(%q) = %v, two-pass form says %v", buf, got, want)
		}
	}
}

func BenchmarkValidHost(b *testing.B) {
	v := []byte("127.0.0.1:18080")
	for b.Loop() {
		if !validHost(v) {
			b.Fatal("invalid")
		}
	}
}
