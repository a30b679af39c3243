package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// This file encodes the plain JSON shapes, the values an `any` holds after decoding
// (map[string]any, []any, string, float64, bool, nil, json.Number), byte for byte as
// encoding/json encodes them with HTML escaping off, as every message is written: map keys sorted, strings escaped alike, floats formatted as its
// floatEncoder formats them (ES6 style: 'f', or 'e' below 1e-6 and from 1e21), NaN and ±Inf
// refused with the same *json.UnsupportedValueError. A value of any other type met inside
// (a struct, an int, a json.RawMessage, a type with MarshalJSON…) is handed to encoding/json, as is
// a container nested more than cycleDepth deep, so that a map or slice that contains itself
// fails as it does there instead of recursing for ever.

// cycleDepth is the nesting from which encoding/json starts looking for cycles.
const cycleDepth = 1000

// anyEncoder holds the scratch space of one encode.
type anyEncoder struct {
	depth   int         // containers open
	members []anyMember // members of the maps being written, sorted per map
	scratch []byte      // where maps and slices are written first
}

// maxScratch is the largest scratch buffer an encoder keeps.
const maxScratch = 1 << 20

// directSpare is the spare capacity from which appendAny writes a container into the caller's
// buffer directly, without the scratch buffer's copy.
const directSpare = 16 << 10

type anyMember struct {
	key string
	val any
}

var anyEncoderPool = sync.Pool{New: func() any { return new(anyEncoder) }}

// isPlainJSON reports whether v's dynamic type is one appendAny writes itself.
func isPlainJSON(v any) bool {
	switch v.(type) {
	case nil, map[string]any, []any, string, float64, bool, json.Number:
		return true
	}
	return false
}

// appendAny appends v, which isPlainJSON, encoded as encoding/json encodes it with HTML escaping
// off. On error it returns buf unchanged.
//
// A map or slice is written into the encoder's pooled scratch buffer and then copied: a large
// answer then costs one allocation of its size (with room for the envelope's end) instead of a
// series of ever larger buffers, each copied into the next. When buf has directSpare bytes to
// spare (a pooled buffer that held a large answer before), it is written into buf directly.
func appendAny(buf []byte, v any) ([]byte, error) {
	e := anyEncoderPool.Get().(*anyEncoder)
	var out []byte
	var err error
	switch v.(type) {
	case map[string]any, []any:
		if cap(buf)-len(buf) >= directSpare {
			out, err = e.value(buf, v)
			break
		}
		var b []byte
		if b, err = e.value(e.scratch[:0], v); err == nil {
			if cap(buf)-len(buf) < len(b) {
				buf = slices.Grow(buf, len(b)+16)
			}
			out = append(buf, b...)
		}
		e.scratch = b[:0]
		if cap(b) > maxScratch {
			e.scratch = nil
		}
	default:
		out, err = e.value(buf, v)
	}
	e.depth = 0
	if cap(e.members) <= 4096 {
		anyEncoderPool.Put(e)
	}
	if err != nil {
		return buf, err
	}
	return out, nil
}

func (e *anyEncoder) value(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return e.str(buf, x), nil
	case float64:
		return appendFloat(buf, x)
	case bool:
		return strconv.AppendBool(buf, x), nil
	case map[string]any:
		if x == nil {
			return append(buf, "null"...), nil
		}
		if e.depth >= cycleDepth {
			return e.other(buf, x)
		}
		return e.object(buf, x)
	case []any:
		if x == nil {
			return append(buf, "null"...), nil
		}
		if e.depth >= cycleDepth {
			return e.other(buf, x)
		}
		e.depth++
		buf = append(buf, '[')
		for i, el := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = e.value(buf, el); err != nil {
				return buf, err
			}
		}
		e.depth--
		return append(buf, ']'), nil
	case json.Number:
		s := string(x)
		if s == "" {
			s = "0"
		}
		if end, err := scanNumber([]byte(s), 0); err != nil || end != len(s) {
			return buf, fmt.Errorf("json: invalid number literal %q", s)
		}
		return append(buf, s...), nil
	}
	return e.other(buf, v)
}

func (e *anyEncoder) object(buf []byte, m map[string]any) ([]byte, error) {
	e.depth++
	var local [16]anyMember // small maps are sorted in this frame: no GC write barriers
	var ms []anyMember
	base := len(e.members)
	if len(m) <= len(local) {
		// written through local itself: through a slice, the compiler could not tell that they
		// stay on the stack
		n := 0
		for k, v := range m {
			local[n] = anyMember{k, v}
			n++
		}
		for i := 1; i < n; i++ { // insertion sort
			for j := i; j > 0 && local[j].key < local[j-1].key; j-- {
				local[j], local[j-1] = local[j-1], local[j]
			}
		}
		ms = local[:n]
	} else {
		for k, v := range m {
			e.members = append(e.members, anyMember{k, v})
		}
		ms = e.members[base:]
		slices.SortFunc(ms, func(a, b anyMember) int { return strings.Compare(a.key, b.key) })
	}
	buf = append(buf, '{')
	var err error
	for i := range ms {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = e.str(buf, ms[i].key)
		buf = append(buf, ':')
		if buf, err = e.value(buf, ms[i].val); err != nil {
			break
		}
	}
	clear(e.members[base:])
	e.members = e.members[:base]
	e.depth--
	return append(buf, '}'), err
}

// other appends a value of any other type with encoding/json.
func (e *anyEncoder) other(buf []byte, v any) ([]byte, error) { return appendJSONSlow(buf, v) }

// str appends s as encoding/json does: as it is inside quotes when it needs no escapes, else by
// AppendString.
func (e *anyEncoder) str(buf []byte, s string) []byte {
	if cap(buf)-len(buf) < len(s)+64 {
		// double: append's growth of large slices (1.25x) copies a big result many times over
		buf = slices.Grow(buf, max(len(s)+64, cap(buf)))
	}
	if isPlainString(s) {
		buf = append(buf, '"')
		buf = append(buf, s...)
		return append(buf, '"')
	}
	return AppendString(buf, s)
}

// isPlainString reports whether s is written as it is inside quotes: it holds only printable
// ASCII other than '"' and '\\'. It tests eight bytes at a time.
func isPlainString(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q, bs := x^('"'*ones), x^('\\'*ones)
		// a byte with its high bit set, below 0x20, or equal to '"' or '\\' (the last three are
		// the classic "has a byte less than n" and "has a zero byte" tests)
		if (x|(x-0x20*ones)&^x|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendFloat appends f as encoding/json's floatEncoder does for a float64.
func appendFloat(buf []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return buf, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	abs := math.Abs(f)
	if abs < 1<<53 && abs == math.Trunc(abs) && (f != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(buf, int64(f), 10), nil // an integer: the digits 'f' would give
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9
		if n := len(buf); n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf, nil
}
