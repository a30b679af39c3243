package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// This file decodes JSON into the values encoding/json stores in an `any`: map[string]any,
// []any, string, float64, bool and nil. It reads bytes the scanner (scan.go) has already
// validated, so it checks no syntax, and gives exactly what json.Unmarshal gives: numbers parsed
// by strconv.ParseFloat (out of range is the same *json.UnmarshalTypeError), strings unescaped
// with invalid UTF-8 and unpaired surrogates replaced by U+FFFD, the last of duplicate keys
// winning, empty arrays non-nil. Elements and members are gathered first (in the container's
// stack frame, then on a pooled stack), so every slice and map is allocated once at its final
// size; the strings without escapes (nearly all) are slices of copies of the input, 4 KiB each.

// anyDecoder holds the scratch space of one decode.
type anyDecoder struct {
	data  []byte
	win   string // a copy of data[winAt:winAt+len(win)], which strings without escapes slice
	winAt int
	vals  []any    // elements and member values of large containers being decoded
	keys  []string // member keys, parallel to vals for objects
	buf   []byte   // unescaped string bytes
	err   error    // the first number out of range
}

var anyDecoderPool = sync.Pool{New: func() any { return new(anyDecoder) }}

var float64Type = reflect.TypeFor[float64]()

// exactPow10 holds the powers of ten a float64 represents exactly that number needs.
var exactPow10 = [16]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// DecodeAny decodes data, one valid JSON value without surrounding space (checked beforehand, for
// example by [Validate]), as json.Unmarshal decodes it into an `any`: the same values, and the
// same *json.UnmarshalTypeError for a number out of range. Invalid input gives unspecified
// results.
func DecodeAny(data []byte) (any, error) {
	v, _, err := DecodeAnyPrefix(data)
	return v, err
}

// DecodeAnyPrefix is [DecodeAny] on the valid JSON value that starts at data[0] and may be
// followed by more bytes; it also returns the index past the value.
func DecodeAnyPrefix(data []byte) (any, int, error) {
	d := anyDecoderPool.Get().(*anyDecoder)
	d.data = data
	v, end := d.value(0)
	err := d.err
	d.data, d.win, d.err = nil, "", nil
	clear(d.vals[:cap(d.vals)]) // the pool keeps no decoded values
	clear(d.keys[:cap(d.keys)])
	if cap(d.vals) <= 4096 && cap(d.buf) <= 64<<10 {
		anyDecoderPool.Put(d)
	}
	if err != nil {
		return nil, end, err
	}
	return v, end, nil
}

func (d *anyDecoder) skipSpace(i int) int {
	for i < len(d.data) && isSpace(d.data[i]) {
		i++
	}
	return i
}

// value decodes the value at data[i] and returns it with the index past it.
func (d *anyDecoder) value(i int) (any, int) {
	switch c := d.data[i]; c {
	case '{':
		return d.object(i)
	case '[':
		return d.array(i)
	case '"':
		return d.string(i)
	case 't':
		return true, i + 4
	case 'f':
		return false, i + 5
	case 'n':
		return nil, i + 4
	}
	return d.number(i)
}

// smallContainer is how many members or elements a container gathers in its own stack frame,
// where storing them costs no GC write barrier; more go to the decoder's stack.
const smallContainer = 16

func (d *anyDecoder) object(i int) (any, int) {
	var ks [smallContainer]string
	var vs [smallContainer]any
	n, base, kbase := 0, len(d.vals), len(d.keys)
	i = d.skipSpace(i + 1)
	if d.data[i] != '}' {
		for {
			var k string
			k, i = d.key(i)
			i = d.skipSpace(d.skipSpace(i) + 1) // past the ':'
			var v any
			v, i = d.value(i)
			if n < smallContainer {
				ks[n], vs[n] = k, v
			} else {
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
			}
			n++
			i = d.skipSpace(i)
			if d.data[i] == '}' {
				break
			}
			i = d.skipSpace(i + 1) // past the ','
		}
	}
	m := make(map[string]any, n)
	for j := range min(n, smallContainer) {
		m[ks[j]] = vs[j] // a later duplicate overwrites, as in encoding/json
	}
	for j, k := range d.keys[kbase:] {
		m[k] = d.vals[base+j]
	}
	d.keys, d.vals = d.keys[:kbase], d.vals[:base]
	return m, i + 1
}

func (d *anyDecoder) array(i int) (any, int) {
	var vs [smallContainer]any
	n, base := 0, len(d.vals)
	i = d.skipSpace(i + 1)
	if d.data[i] != ']' {
		for {
			var v any
			v, i = d.value(i)
			if n < smallContainer {
				vs[n] = v
			} else {
				d.vals = append(d.vals, v)
			}
			n++
			i = d.skipSpace(i)
			if d.data[i] == ']' {
				break
			}
			i = d.skipSpace(i + 1)
		}
	}
	a := make([]any, n)
	copy(a, vs[:min(n, smallContainer)])
	if n > smallContainer {
		copy(a[smallContainer:], d.vals[base:])
	}
	d.vals = d.vals[:base]
	return a, i + 1
}

func (d *anyDecoder) string(i int) (any, int) {
	s, end := d.key(i)
	return s, end
}

// key decodes the string that starts at the quote data[i] and returns the index past it. A
// string without escapes and of valid UTF-8 is a substring of one copy of the input (made on
// first use), so it costs no allocation of its own.
func (d *anyDecoder) key(i int) (string, int) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	b := d.data
	j := i + 1
	for ; j+8 <= len(b); j += 8 { // to the first word with a '"', a '\\' or a non-ASCII byte
		x := binary.LittleEndian.Uint64(b[j:])
		q, bs := x^('"'*ones), x^('\\'*ones)
		if (x|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			break
		}
	}
	for ; b[j] != '"'; j++ {
		if b[j] == '\\' {
			return d.unescape(i)
		}
		if b[j] >= utf8.RuneSelf {
			end := skipValidString(b, i)
			if bytes.IndexByte(b[j:end-1], '\\') >= 0 || !utf8.Valid(b[j:end-1]) {
				return d.unescape(i)
			}
			j = end - 1
			break
		}
	}
	return d.intern(i+1, j), j + 1
}

// strChunk is the size of the windows of the input that short strings share.
const strChunk = 4096

// intern returns data[i:j], a string without escapes, as a string. Short strings are slices of
// a window: a copy of the next strChunk bytes of the input (at most the input left), made when a
// string lies outside the current one, so that most strings cost no allocation or copy of their
// own. A string the caller keeps keeps its window alive.
func (d *anyDecoder) intern(i, j int) string {
	if j-i > strChunk/4 {
		return string(d.data[i:j])
	}
	if i < d.winAt || j > d.winAt+len(d.win) {
		d.win, d.winAt = string(d.data[i:min(i+strChunk, len(d.data))]), i
	}
	return d.win[i-d.winAt : j-d.winAt]
}

// unescape decodes a string with escapes or invalid UTF-8 as encoding/json's unquote does.
func (d *anyDecoder) unescape(i int) (string, int) {
	b, w := d.data, d.buf[:0]
	j := i + 1
	for {
		switch c := b[j]; {
		case c == '"':
			d.buf = w
			return string(w), j + 1
		case c == '\\':
			switch e := b[j+1]; e {
			case 'b':
				w = append(w, '\b')
			case 'f':
				w = append(w, '\f')
			case 'n':
				w = append(w, '\n')
			case 'r':
				w = append(w, '\r')
			case 't':
				w = append(w, '\t')
			case 'u':
				r := hex4(b[j+2:])
				j += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if b[j] == '\\' && b[j+1] == 'u' {
						r2 = hex4(b[j+2:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						j += 6
						w = utf8.AppendRune(w, dec)
						continue
					}
					r = utf8.RuneError
				}
				w = utf8.AppendRune(w, r)
				continue
			default: // '"', '\\', '/'
				w = append(w, e)
			}
			j += 2
		case c < utf8.RuneSelf:
			w = append(w, c)
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			w = utf8.AppendRune(w, r) // invalid UTF-8 becomes U+FFFD
			j += size
		}
	}
}

// hex4 decodes the four hexadecimal digits at the start of b (validated by the scanner).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// number decodes the number at data[i]. A number without exponent and with at most 15 digits is
// converted exactly (its digits make an integer below 2^53, exact in a float64, and dividing it
// by an exact power of ten rounds correctly, as strconv does itself in that case); the rest go
// through strconv.ParseFloat as in encoding/json.
func (d *anyDecoder) number(i int) (any, int) {
	b := d.data
	j := i
	neg := b[j] == '-'
	if neg {
		j++
	}
	var n uint64
	start := j
	for j < len(b) && isDigit(b[j]) {
		n = n*10 + uint64(b[j]-'0')
		j++
	}
	digits, frac := j-start, 0
	if j < len(b) && b[j] == '.' {
		j++
		fs := j
		for j < len(b) && isDigit(b[j]) {
			n = n*10 + uint64(b[j]-'0')
			j++
		}
		frac = j - fs
		digits += frac
	}
	if digits <= 15 && (j == len(b) || (b[j] != 'e' && b[j] != 'E')) {
		f := float64(n) / exactPow10[frac]
		if neg {
			f = -f
		}
		return f, j
	}
	end, _ := scanNumber(b, i)
	f, err := strconv.ParseFloat(string(b[i:end]), 64)
	if err != nil {
		if d.err == nil {
			// encoding/json's offset: one past the byte that ended the number
			d.err = &json.UnmarshalTypeError{Value: "number " + string(b[i:end]), Type: float64Type, Offset: int64(end + 1)}
		}
		return nil, end
	}
	return f, end
}
