package wire

import (
	"encoding/json"
	"strconv"
	"sync"
	"unicode/utf8"
)

// This file holds the appenders every message polyrpc writes goes through: strings, and any Go
// value as encoding/json encodes it with HTML escaping off.

// AppendString appends s as a JSON string, escaped as encoding/json escapes it except that <, >
// and & are left alone. Invalid UTF-8 becomes U+FFFD, so the output is always valid UTF-8.
func AppendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// encoder appends JSON to a byte slice through encoding/json, reusing its state between uses.
type encoder struct {
	buf []byte
	enc *json.Encoder
}

func (e *encoder) Write(p []byte) (int, error) {
	e.buf = append(e.buf, p...)
	return len(p), nil
}

var encoderPool = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = json.NewEncoder(e)
	e.enc.SetEscapeHTML(false)
	return e
}}

// AppendJSON appends v encoded as encoding/json encodes it with SetEscapeHTML(false), without a
// trailing newline: MarshalJSON, MarshalText, struct tags and all. The plain JSON shapes (what
// [DecodeAny] gives) are written by appendAny (anyencode.go), byte for byte the same, the rest
// by encoding/json. On error it returns buf unchanged.
func AppendJSON(buf []byte, v any) ([]byte, error) {
	if isPlainJSON(v) {
		return appendAny(buf, v)
	}
	// Integers, which encoding/json writes as strconv does: the usual notification value after
	// the plain shapes, and costly through encoding/json's type cache.
	switch n := v.(type) {
	case int:
		return strconv.AppendInt(buf, int64(n), 10), nil
	case int64:
		return strconv.AppendInt(buf, n, 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(n), 10), nil
	case uint64:
		return strconv.AppendUint(buf, n, 10), nil
	case uint:
		return strconv.AppendUint(buf, uint64(n), 10), nil
	case uint32:
		return strconv.AppendUint(buf, uint64(n), 10), nil
	}
	return appendJSONSlow(buf, v)
}

// appendJSONSlow appends v encoded by encoding/json.
func appendJSONSlow(buf []byte, v any) ([]byte, error) {
	e := encoderPool.Get().(*encoder)
	e.buf = buf
	err := e.enc.Encode(v)
	out := e.buf
	e.buf = nil
	encoderPool.Put(e)
	if err != nil {
		return buf, err
	}
	return out[:len(out)-1], nil // Encode ends the value with '\n'
}
