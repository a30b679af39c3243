package wire

import (
	"encoding/binary"
	"math/bits"
)

// This file is the stream framer: it cuts the bytes of a stream connection (package rpc's
// stream.go) into JSON values without validating them; the scanner (scan.go) does that once a
// value is whole.

// Framer finds the end of one JSON value fed to it in pieces, without validating it. Its zero
// value is ready for the value's first byte (space before the value is the caller's to skip);
// each value needs a fresh Framer. It tracks strings and the stack of open brackets; a
// top-level scalar (a number, a literal or junk) ends at the first space or structural
// character. A closing bracket that does not match the open one ends the value at once: it
// cannot be valid JSON, and ending it there lets the stream go on (the specification's "batch,
// invalid JSON" example is such a value).
type Framer struct {
	started bool     // the first byte of the value was seen
	scalar  bool     // the value is a top-level scalar
	inStr   bool     // a string is open
	esc     bool     // the next byte is escaped by a backslash in a string
	depth   int      // brackets open
	objects uint64   // bit i set: the bracket open at depth i+1 is '{', for the first 64 levels
	deeper  []uint64 // the same for the levels beyond, 64 a word
}

// word returns the word that holds the bit of the bracket open at depth d (from 1).
func (s *Framer) word(d int) *uint64 {
	if d <= 64 {
		return &s.objects
	}
	return &s.deeper[(d-65)/64]
}

// push opens a bracket, an object's if obj.
func (s *Framer) push(obj bool) {
	s.depth++
	if s.depth > 64 {
		for len(s.deeper) <= (s.depth-65)/64 {
			s.deeper = append(s.deeper, 0)
		}
	}
	w, bit := s.word(s.depth), uint((s.depth-1)%64)
	if obj {
		*w |= 1 << bit
	} else {
		*w &^= 1 << bit
	}
}

// pop closes the innermost bracket and reports whether c matches it.
func (s *Framer) pop(c byte) bool {
	obj := *s.word(s.depth)&(1<<uint((s.depth-1)%64)) != 0
	s.depth--
	return obj == (c == '}')
}

// Scan consumes data and returns how many bytes it used and whether the value is complete.
// Inside a container it reads eight bytes at a time (see scanWords), since nearly all of a large
// value is bytes it only passes over; one byte at a time it handles the rest: a backslash and
// the byte it escapes, the last bytes of data, and a value that is a bare string or scalar.
func (s *Framer) Scan(data []byte) (int, bool) {
	i := 0
	if !s.started {
		if len(data) == 0 {
			return 0, false
		}
		s.started = true
		switch c := data[0]; c {
		case '{', '[':
			s.push(c == '{')
		case '"':
			s.inStr = true
		default:
			s.scalar = true
			if isStructural(c) {
				return 1, true
			}
		}
		i = 1
	}
	if s.scalar {
		for ; i < len(data); i++ {
			if c := data[i]; isSpace(c) || isStructural(c) {
				return i, true
			}
		}
		return len(data), false
	}
	for i < len(data) {
		if s.depth > 0 && !s.esc && len(data)-i >= 8 {
			n, end := s.scanWords(data[i:])
			if end > 0 {
				return i + end, true
			}
			if i += n; i == len(data) {
				break
			}
			// A backslash or the last bytes: they go one at a time.
		}
		if s.inStr && !s.esc {
			// Inside a string only a quote or a backslash matters: skip words without one.
			if i = skipPlain(data, i); i == len(data) {
				break
			}
		}
		c := data[i]
		i++
		switch {
		case s.inStr:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inStr = false
				if s.depth == 0 {
					return i, true
				}
			}
		case c == '"':
			s.inStr = true
		case c == '{' || c == '[':
			s.push(c == '{')
		case c == '}' || c == ']':
			if !s.pop(c) || s.depth == 0 {
				return i, true
			}
		}
	}
	return len(data), false
}

// Constants of the eight-byte scan: one bit per byte, and the top bit of every byte.
const (
	laneOnes  = 0x0101010101010101
	laneHighs = 0x8080808080808080
	laneLows  = 0x7f7f7f7f7f7f7f7f
)

// lanesEqual returns the top bit of every byte of x (little endian: byte k holds bits 8k to
// 8k+7) that equals c, and no other bit. Unlike skipPlain's test, it is exact: the sum of
// the low seven bits cannot carry into the next byte.
func lanesEqual(x uint64, c byte) uint64 {
	v := x ^ uint64(c)*laneOnes
	return ^((v&laneLows + laneLows) | v | laneLows)
}

// lanesMaybe returns the top bit of every byte of x that equals c, and maybe of bytes after
// such a byte (as skipPlain's test): its lowest bit is exact, and it is zero only when no byte
// equals c. It costs fewer operations than lanesEqual.
func lanesMaybe(x uint64, c byte) uint64 {
	v := x ^ uint64(c)*laneOnes
	return (v - laneOnes) &^ v & laneHighs
}

// scanWords consumes data eight bytes at a time while a container is open and the first byte
// is not escaped, up to its first backslash or its last bytes, fewer than eight. It returns
// how many bytes it used and, when the value ends within them, the value's length (else 0).
// Which quotes and brackets are inside strings follows from the parity of the quotes before
// each byte (with no backslash among them, every quote counts), so a word costs a few
// arithmetic operations, and a branch only when it holds a bracket, instead of a branch per
// byte, which mispredicts at every quote of a value made of short strings.
func (s *Framer) scanWords(data []byte) (n, end int) {
	var inStr uint64 // laneHighs while a string is open, else 0
	if s.inStr {
		inStr = laneHighs
	}
	for ; n+8 <= len(data); n += 8 {
		x := binary.LittleEndian.Uint64(data[n:])
		backslashes := lanesMaybe(x, '\\')
		used := backslashes&-backslashes - 1 // the bytes before the first backslash: all if none
		quotes := lanesEqual(x, '"') & used
		// Setting bits 1, 2 and 5 makes '}' of '{', ']' and '[' (and of 'y', 'Y', '_' and DEL,
		// which the loop below passes over): one test finds the brackets.
		brackets := lanesMaybe(x|0x26*laneOnes, '\x7f') & used
		// in: the bytes after which a string is open (a prefix XOR of the quotes up to each).
		in := quotes ^ quotes<<8
		in ^= in << 16
		in ^= in << 32
		in ^= inStr
		for brackets &^= in; brackets != 0; brackets &= brackets - 1 {
			k := bits.TrailingZeros64(brackets) / 8
			switch c := byte(x >> (8 * k)); c {
			case '{', '[':
				s.push(c == '{')
			case '}', ']':
				if !s.pop(c) || s.depth == 0 {
					return n, n + k + 1
				}
			}
		}
		// The last byte's state is that after the last byte used: no quote follows it.
		inStr = uint64(int64(in)>>63) & laneHighs
		if backslashes != 0 {
			n += bits.TrailingZeros64(backslashes) / 8
			break
		}
	}
	s.inStr = inStr != 0
	return n, 0
}

// isStructural reports whether c is one of JSON's structural characters or a quote: what ends
// a top-level scalar.
func isStructural(c byte) bool {
	switch c {
	case '{', '}', '[', ']', ',', ':', '"':
		return true
	}
	return false
}
