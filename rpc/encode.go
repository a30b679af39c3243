package rpc

import (
	"encoding/json"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"
)

// appendString appends s as a JSON string, escaped as encoding/json escapes it except that <, >
// and & are left alone. Invalid UTF-8 becomes U+FFFD, so the output is always valid UTF-8.
func appendString(buf []byte, s string) []byte {
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

// appendJSON appends v encoded as encoding/json encodes it (without a trailing newline): the
// plain JSON shapes by appendAny (anyencode.go), byte for byte the same, the rest by
// encoding/json.
func appendJSON(buf []byte, v any) ([]byte, error) {
	if isPlainJSON(v) {
		return appendAny(buf, v, false)
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

// resultKind says how a method's result type is encoded: the plain kinds are written here,
// everything else through encoding/json (so MarshalJSON and MarshalText run).
func resultKind(t reflect.Type) reflect.Kind {
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return reflect.Invalid
	}
	switch k := t.Kind(); k {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return k
	}
	return reflect.Invalid
}

// appendValue appends the JSON encoding of v, whose type's resultKind is k.
func appendValue(buf []byte, v reflect.Value, k reflect.Kind) ([]byte, error) {
	switch k {
	case reflect.String:
		return appendString(buf, v.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(buf, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(buf, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(buf, v.Uint(), 10), nil
	}
	return appendJSON(buf, v.Interface())
}
