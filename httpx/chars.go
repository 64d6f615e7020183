package httpx

import "encoding/binary"

// Byte classes from RFC 9110 section 5.6.2 (tchar), RFC 3986 (URI characters) and RFC 9110
// section 5.5 (field values). The tables are computed once at package initialisation and never
// written afterwards (read-only, so not mutable state).

const (
	clsToken    = 1 << iota // tchar
	clsPath                 // pchar, "/" : origin-form path characters (besides '%')
	clsQuery                // pchar, "/", "?" : query characters (besides '%')
	clsRegName              // unreserved, sub-delims : reg-name characters (besides '%')
	clsHex                  // HEXDIG
	clsFieldVal             // VCHAR, obs-text, SP, HTAB : field-value characters
)

var charClass = buildCharClass()

func buildCharClass() (t [256]uint8) {
	const tchar = "!#$%&'*+-.^_`|~"
	const unreservedExtra = "-._~"
	const subDelims = "!$&'()*+,;="
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
		if alnum || contains(tchar, b) {
			t[c] |= clsToken
		}
		unreserved := alnum || contains(unreservedExtra, b)
		pchar := unreserved || contains(subDelims, b) || b == ':' || b == '@'
		if pchar || b == '/' {
			t[c] |= clsPath
		}
		if pchar || b == '/' || b == '?' {
			t[c] |= clsQuery
		}
		if unreserved || contains(subDelims, b) {
			t[c] |= clsRegName
		}
		if (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F') {
			t[c] |= clsHex
		}
		if (b >= 0x21 && b <= 0x7e) || b >= 0x80 || b == ' ' || b == '\t' {
			t[c] |= clsFieldVal
		}
	}
	return t
}

func contains(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if charClass[c]&clsToken == 0 {
			return false
		}
	}
	return true
}

func isTokenString(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&clsToken == 0 {
			return false
		}
	}
	return true
}

// validFieldValueString reports whether s may be sent as a field value (no CTL except HTAB).
func validFieldValueString(s string) bool {
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&clsFieldVal == 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int64 {
	switch {
	case c >= '0' && c <= '9':
		return int64(c - '0')
	case c >= 'a' && c <= 'f':
		return int64(c-'a') + 10
	default:
		return int64(c-'A') + 10
	}
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// eqFold reports whether b equals the lower-case ASCII string s, ignoring ASCII case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// strEqFold reports whether a and b are equal ignoring ASCII case.
func strEqFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// eqFoldString reports whether a and b are equal ignoring ASCII case.
func eqFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// sameBytes reports whether a and b are equal. Lengths of 8 to 16 bytes, typical of the
// Host and Content-Type values it compares, take two overlapping word loads each instead of
// a call to the runtime's general comparison.
func sameBytes(a, b []byte) bool {
	n := len(a)
	if n != len(b) {
		return false
	}
	if n >= 8 && n <= 16 {
		return binary.LittleEndian.Uint64(a) == binary.LittleEndian.Uint64(b) &&
			binary.LittleEndian.Uint64(a[n-8:]) == binary.LittleEndian.Uint64(b[n-8:])
	}
	return string(a) == string(b)
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
