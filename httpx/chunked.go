package httpx

import "bytes"

// The chunked transfer coding decoder (RFC 9112 section 7.1). Like the head parser it works on
// the bytes of the current request (from the request line on) and keeps only positions, so the
// engine may compact consumed chunk bytes between calls (see engine.savePartial).
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//
// Strict: the size is 1*HEXDIG with no leading or trailing whitespace (BWS only before ";"),
// sizes that overflow are rejected, chunk data must be followed by exactly CRLF, and trailer
// fields follow the same rules as header fields.

const (
	chSize     = iota // expecting a chunk-size line
	chData            // inside chunk data
	chDataCRLF        // expecting the CRLF after chunk data
	chTrailer         // inside the trailer section
)

// statusChunkDone is returned by next when the trailer section's final CRLF was read.
const statusChunkDone = -2

// maxChunkLine bounds a chunk-size line including extensions.
const maxChunkLine = 4096

type chunkDecoder struct {
	st       uint8
	rem      int64 // data bytes left in the current chunk
	total    int64 // decoded bytes so far
	trStart  int   // offset of the trailer section (valid in chTrailer)
	trSize   int   // trailer bytes so far
	excess   int64 // wire bytes beyond the chunk data, less an allowance (see next)
	trailers []hfield
}

func (d *chunkDecoder) reset() {
	tr := d.trailers[:0]
	*d = chunkDecoder{trailers: tr}
}

// next makes one step over b from pos. It returns the new position, the chunk data it passed
// over (a sub-slice of b, possibly empty) and statusOK (call again), statusNeedMore,
// statusChunkDone, or the HTTP status to reject the request with.
func (d *chunkDecoder) next(b []byte, pos int, lim *limits) (int, []byte, int) {
	switch d.st {
	case chSize:
		rest := b[pos:]
		lf := bytes.IndexByte(rest, '\n')
		if lf < 0 {
			// A line of maxChunkLine bytes may have its CR here and its LF still to come.
			if cr := bytes.IndexByte(rest, '\r'); (cr >= 0 && cr+1 < len(rest)) || len(rest) > maxChunkLine+1 {
				return pos, nil, 400
			}
			return pos, nil, statusNeedMore
		}
		if lf == 0 || rest[lf-1] != '\r' || lf-1 > maxChunkLine {
			return pos, nil, 400
		}
		line := rest[:lf-1]
		i := 0
		var n int64
		for i < len(line) && charClass[line[i]]&clsHex != 0 {
			if n > (maxInt64-15)>>4 {
				return pos, nil, 400 // the size overflows
			}
			n = n<<4 | hexVal(line[i])
			i++
		}
		if i == 0 || !validChunkExt(line[i:]) {
			return pos, nil, 400
		}
		pos += lf + 1
		// Size lines and extensions are wire bytes the body limit does not count: a client
		// could send 4 KiB of them per data byte. Bound them as net/http does (after its
		// CVE-2023-39326 fix): each chunk may spend 16 bytes plus twice its size on them, and
		// what goes beyond that in all may not exceed 16 KiB.
		d.excess = max(d.excess+int64(lf+1)+2-16-2*min(n, 1<<20), 0)
		if d.excess > 16<<10 {
			return pos, nil, 400
		}
		if n == 0 {
			d.st = chTrailer
			d.trStart = pos
			return pos, nil, statusOK
		}
		if n > lim.body-d.total {
			return pos, nil, 413
		}
		d.rem = n
		d.st = chData
		return pos, nil, statusOK
	case chData:
		avail := int64(len(b) - pos)
		if avail == 0 {
			return pos, nil, statusNeedMore
		}
		n := min(avail, d.rem)
		data := b[pos : pos+int(n)]
		d.rem -= n
		d.total += n
		if d.rem == 0 {
			d.st = chDataCRLF
		}
		return pos + int(n), data, statusOK
	case chDataCRLF:
		rest := b[pos:]
		if len(rest) < 2 {
			if len(rest) == 1 && rest[0] != '\r' {
				return pos, nil, 400
			}
			return pos, nil, statusNeedMore
		}
		if rest[0] != '\r' || rest[1] != '\n' {
			return pos, nil, 400
		}
		d.st = chSize
		return pos + 2, nil, statusOK
	default: // chTrailer
		rest := b[pos:]
		lf := bytes.IndexByte(rest, '\n')
		if lf < 0 {
			if d.trSize+len(rest) > lim.headerBytes+1 {
				return pos, nil, 431
			}
			return pos, nil, statusNeedMore
		}
		if lf == 0 || rest[lf-1] != '\r' {
			return pos, nil, 400
		}
		line := rest[:lf-1]
		if len(line) == 0 {
			return pos + lf + 1, nil, statusChunkDone
		}
		d.trSize += len(line) + 2
		if d.trSize > lim.headerBytes || len(d.trailers) >= lim.headerCount {
			return pos, nil, 431
		}
		f, st := parseFieldLine(line, int32(pos))
		if st != statusOK {
			return pos, nil, st
		}
		d.trailers = append(d.trailers, f)
		return pos + lf + 1, nil, statusOK
	}
}

// shift moves every recorded offset at or after from down by delta (after compaction).
func (d *chunkDecoder) shift(delta int) {
	d.trStart -= delta
	for i := range d.trailers {
		f := &d.trailers[i]
		f.name.s -= int32(delta)
		f.name.e -= int32(delta)
		f.value.s -= int32(delta)
		f.value.e -= int32(delta)
	}
}

// validChunkExt checks chunk-ext (RFC 9112 7.1.1). e is what follows the size on its line.
func validChunkExt(e []byte) bool {
	i := 0
	for i < len(e) {
		for i < len(e) && isOWS(e[i]) {
			i++
		}
		if i == len(e) || e[i] != ';' {
			return false // whitespace or text after the size without ";"
		}
		i++
		for i < len(e) && isOWS(e[i]) {
			i++
		}
		s := i
		for i < len(e) && charClass[e[i]]&clsToken != 0 {
			i++
		}
		if i == s {
			return false // ";" without an extension name
		}
		j := i
		for j < len(e) && isOWS(e[j]) {
			j++
		}
		if j == len(e) || e[j] != '=' {
			continue
		}
		j++
		for j < len(e) && isOWS(e[j]) {
			j++
		}
		if j < len(e) && e[j] == '"' {
			j++
			closed := false
			for j < len(e) {
				c := e[j]
				if c == '\\' {
					if j+1 >= len(e) || charClass[e[j+1]]&clsFieldVal == 0 {
						return false
					}
					j += 2
					continue
				}
				if c == '"' {
					closed = true
					j++
					break
				}
				if charClass[c]&clsFieldVal == 0 {
					return false
				}
				j++
			}
			if !closed {
				return false
			}
		} else {
			s := j
			for j < len(e) && charClass[e[j]]&clsToken != 0 {
				j++
			}
			if j == s {
				return false
			}
		}
		i = j
	}
	return true
}
