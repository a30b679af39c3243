package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
)

// This file is the validating scanner: allocation-free, it checks syntax exactly as
// encoding/json does (RFC 8259; invalid UTF-8 inside strings is tolerated, as encoding/json
// tolerates it) and reports where values start and end, so that the envelope of a message is
// decoded once and params reach encoding/json only as the raw bytes of each argument.

// maxDepth bounds nesting, as encoding/json does, so hostile input cannot exhaust the stack.
const maxDepth = 10000

// syntaxError describes invalid JSON. Its text names the offset, like encoding/json's.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string {
	return e.msg + " at offset " + strconv.Itoa(e.off)
}

func errAt(msg string, off int) error { return &syntaxError{msg, off} }

// ErrUnexpectedEnd is the error for JSON input that ends before its value does (encoding/json's
// wording).
var ErrUnexpectedEnd = errors.New("unexpected end of JSON input")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte from b[i] that is not JSON white space, or
// len(b).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanValue validates the value that starts at b[i] (no leading space) and returns the index just
// past it.
func scanValue(b []byte, i int) (int, error) { return scanValueDepth(b, i, 0) }

func scanValueDepth(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, ErrUnexpectedEnd
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{':
		return scanObject(b, i, depth+1, nil)
	case c == '[':
		return scanArray(b, i, depth+1, nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	default:
		return i, errAt("invalid character "+quoteChar(c)+" looking for beginning of value", i)
	}
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	if c >= 0x80 {
		s = strconv.QuoteRune(rune(c))
	}
	return "'" + s[1:len(s)-1] + "'"
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i + k, ErrUnexpectedEnd
		}
		if b[i+k] != lit[k] {
			return i + k, errAt("invalid character "+quoteChar(b[i+k])+" in literal "+lit, i+k)
		}
	}
	return i + len(lit), nil
}

// scanString validates the string starting at the quote b[i] and returns the index past the
// closing quote, and whether it holds escape sequences.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	for j := skipPlain(b, i+1); j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			j++
			if j >= len(b) {
				return j, escaped, ErrUnexpectedEnd
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for k := 1; k <= 4; k++ {
					if j+k >= len(b) {
						return j + k, escaped, ErrUnexpectedEnd
					}
					if !isHex(b[j+k]) {
						return j + k, escaped, errAt("invalid character "+quoteChar(b[j+k])+" in \\u hexadecimal character escape", j+k)
					}
				}
				j += 4
			default:
				return j, escaped, errAt("invalid character "+quoteChar(b[j])+" in string escape code", j)
			}
			j = skipPlain(b, j+1) - 1
		case c < 0x20:
			return j, escaped, errAt("invalid character "+quoteChar(c)+" in string literal", j)
		}
	}
	return len(b), escaped, ErrUnexpectedEnd
}

// skipPlain returns the index of the first word of eight bytes from b[j] that holds a quote, a
// backslash or a control character (or of the last bytes, fewer than eight): the bytes before it
// need no look in a string.
func skipPlain(b []byte, j int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; j+8 <= len(b); j += 8 {
		x := binary.LittleEndian.Uint64(b[j:])
		q, bs := x^('"'*ones), x^('\\'*ones)
		// A byte is zero in q or bs, or below 0x20 in x: the classic "has a byte less than n"
		// test, which may flag bytes after a true hit but never misses one.
		if ((q-ones)&^q|(bs-ones)&^bs|(x-0x20*ones)&^x)&highs != 0 {
			break
		}
	}
	return j
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func scanNumber(b []byte, i int) (int, error) {
	j := i
	if b[j] == '-' {
		j++
	}
	if j >= len(b) {
		return j, ErrUnexpectedEnd
	}
	switch {
	case b[j] == '0':
		j++
	case b[j] >= '1' && b[j] <= '9':
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	default:
		return j, errAt("invalid character "+quoteChar(b[j])+" in numeric literal", j)
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) {
			return j, ErrUnexpectedEnd
		}
		if !isDigit(b[j]) {
			return j, errAt("invalid character "+quoteChar(b[j])+" after decimal point in numeric literal", j)
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) {
			return j, ErrUnexpectedEnd
		}
		if !isDigit(b[j]) {
			return j, errAt("invalid character "+quoteChar(b[j])+" in exponent of numeric literal", j)
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	return j, nil
}

// memberFunc receives each object member: the raw key (with quotes), whether the key has escapes,
// and the value's bounds. It may be nil.
type memberFunc func(key []byte, escaped bool, vstart, vend int) error

// Object validates the JSON object that starts at b[i] (no leading space) and returns the index
// just past it. For each member in order it calls f, if not nil, with the raw key (quotes
// included; escaped: the key holds escape sequences, see [KeyIs] and [Unquote]) and the bounds
// b[vstart:vend] of its value; an error from f ends the scan and is returned.
func Object(b []byte, i int, f func(key []byte, escaped bool, vstart, vend int) error) (int, error) {
	return scanObject(b, i, 1, f)
}

// scanObject is Object at nesting depth depth (the object's own level, from 1).
func scanObject(b []byte, i, depth int, f memberFunc) (int, error) {
	if depth > maxDepth {
		return i, errAt("exceeded max depth", i)
	}
	j := SkipSpace(b, i+1)
	if j < len(b) && b[j] == '}' {
		return j + 1, nil
	}
	for {
		if j >= len(b) {
			return j, ErrUnexpectedEnd
		}
		if b[j] != '"' {
			return j, errAt("invalid character "+quoteChar(b[j])+" looking for beginning of object key string", j)
		}
		kend, esc, err := scanString(b, j)
		if err != nil {
			return kend, err
		}
		key := b[j:kend]
		j = SkipSpace(b, kend)
		if j >= len(b) {
			return j, ErrUnexpectedEnd
		}
		if b[j] != ':' {
			return j, errAt("invalid character "+quoteChar(b[j])+" after object key", j)
		}
		vstart := SkipSpace(b, j+1)
		vend, err := scanValueDepth(b, vstart, depth)
		if err != nil {
			return vend, err
		}
		if f != nil {
			if err := f(key, esc, vstart, vend); err != nil {
				return vend, err
			}
		}
		j = SkipSpace(b, vend)
		if j >= len(b) {
			return j, ErrUnexpectedEnd
		}
		switch b[j] {
		case ',':
			j = SkipSpace(b, j+1)
		case '}':
			return j + 1, nil
		default:
			return j, errAt("invalid character "+quoteChar(b[j])+" after object key:value pair", j)
		}
	}
}

// elemFunc receives the bounds of each array element. It may be nil.
type elemFunc func(start, end int) error

// Array validates the JSON array that starts at b[i] (no leading space) and returns the index
// just past it. For each element in order it calls f, if not nil, with the element's bounds
// b[start:end]; an error from f ends the scan and is returned.
func Array(b []byte, i int, f func(start, end int) error) (int, error) {
	return scanArray(b, i, 1, f)
}

// scanArray is Array at nesting depth depth (the array's own level, from 1).
func scanArray(b []byte, i, depth int, f elemFunc) (int, error) {
	if f == nil {
		return scanElems(b, i, depth, nil)
	}
	return scanElems(b, i, depth, func(start int) (int, error) {
		end, err := scanValueDepth(b, start, depth)
		if err == nil {
			err = f(start, end)
		}
		return end, err
	})
}

// scanElems is scanArray with each element validated by elem, which returns the index past
// the element that starts at b[start] (nil: scanValueDepth).
func scanElems(b []byte, i, depth int, elem func(start int) (int, error)) (int, error) {
	if depth > maxDepth {
		return i, errAt("exceeded max depth", i)
	}
	j := SkipSpace(b, i+1)
	if j < len(b) && b[j] == ']' {
		return j + 1, nil
	}
	for {
		var end int
		var err error
		if elem == nil {
			end, err = scanValueDepth(b, j, depth)
		} else {
			end, err = elem(j)
		}
		if err != nil {
			return end, err
		}
		j = SkipSpace(b, end)
		if j >= len(b) {
			return j, ErrUnexpectedEnd
		}
		switch b[j] {
		case ',':
			j = SkipSpace(b, j+1)
		case ']':
			return j + 1, nil
		default:
			return j, errAt("invalid character "+quoteChar(b[j])+" after array element", j)
		}
	}
}

// Validate checks that b is exactly one JSON value with optional surrounding space, as
// json.Valid does, and describes the first error (with its offset) if it is not.
func Validate(b []byte) error {
	i := SkipSpace(b, 0)
	end, err := scanValue(b, i)
	if err != nil {
		return err
	}
	if j := SkipSpace(b, end); j != len(b) {
		return errAfterValue(b, j)
	}
	return nil
}

// SplitArray returns the raw elements of the JSON array that b holds (b starts with '[' after
// optional space). It fails if b is not valid JSON, including anything but space after the array.
func SplitArray(b []byte) ([][]byte, error) { return appendElems(nil, b) }

// appendElems is SplitArray appending the elements to elems.
func appendElems(elems [][]byte, b []byte) ([][]byte, error) {
	i := SkipSpace(b, 0)
	end, err := scanArray(b, i, 1, func(s, e int) error {
		elems = append(elems, b[s:e])
		return nil
	})
	if err != nil {
		return elems, err
	}
	if j := SkipSpace(b, end); j != len(b) {
		return elems, errAfterValue(b, j)
	}
	return elems, nil
}

// errAfterValue is the error for b[j], which is not space, after the top-level value.
func errAfterValue(b []byte, j int) error {
	return errAt("invalid character "+quoteChar(b[j])+" after top-level value", j)
}

// Unquote returns the string value of the raw JSON string s (quotes included); escaped says
// whether s may hold escape sequences (when false, s is taken as it is between the quotes). It
// reports false if s is not a JSON string, such as a missing (nil) or non-string member.
func Unquote(s []byte, escaped bool) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	if !escaped {
		return string(s[1 : len(s)-1]), true
	}
	var v string
	if json.Unmarshal(s, &v) != nil {
		return "", false
	}
	return v, true
}

// KeyIs reports whether the raw object key (quotes included, as [Object] gives it) equals name.
func KeyIs(key []byte, escaped bool, name string) bool {
	if !escaped {
		return len(key) == len(name)+2 && string(key[1:len(key)-1]) == name
	}
	v, ok := Unquote(key, true)
	return ok && v == name
}
