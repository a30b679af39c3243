package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// argType is one method argument and how to decode it. Plain strings, integers, floats and
// booleans (types without their own JSON or text unmarshalling), and interfaces without methods
// (wire.DecodeAny), are decoded here without encoding/json; everything else goes through
// json.Unmarshal, so user types' UnmarshalJSON runs.
type argType struct {
	typ  reflect.Type
	fast reflect.Kind // the kind decoded here, or reflect.Invalid
}

func newArgType(t reflect.Type) argType {
	a := argType{typ: t}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalerType) {
		return a
	}
	switch k := t.Kind(); k {
	case reflect.Interface:
		if t.NumMethod() == 0 {
			a.fast = k // wire.DecodeAny
		}
	case reflect.String, reflect.Bool, reflect.Float64, reflect.Float32,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		a.fast = k
	}
	return a
}

// errSlow makes decode fall back to encoding/json, which also words the error.
var errSlow = errors.New("slow path")

// decode decodes raw (valid JSON) into a new value of the argument's type.
func (a argType) decode(raw []byte) (reflect.Value, error) {
	if a.fast != reflect.Invalid {
		if v, err := a.decodeFast(raw); err == nil {
			return v, nil
		}
	}
	p := reflect.New(a.typ)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return reflect.Value{}, err
	}
	return p.Elem(), nil
}

// decodeAt decodes the valid JSON value that starts at b[s] and returns the index past it. An
// argument of type any is decoded in the same pass that finds its end.
func (a argType) decodeAt(b []byte, s int) (reflect.Value, int, error) {
	if a.fast == reflect.Interface {
		if x, end, err := wire.DecodeAnyPrefix(b[s:]); err == nil {
			return anyValue(a.typ, x), s + end, nil
		}
	}
	e := wire.SkipValid(b, s)
	v, err := a.decode(b[s:e])
	return v, e, err
}

// anyValue returns x as a value of the interface type t.
func anyValue(t reflect.Type, x any) reflect.Value {
	v := reflect.New(t).Elem()
	if x != nil {
		v.Set(reflect.ValueOf(x))
	}
	return v
}

func (a argType) decodeFast(raw []byte) (reflect.Value, error) {
	v := reflect.New(a.typ).Elem()
	switch a.fast {
	case reflect.Interface:
		x, err := wire.DecodeAny(raw)
		if err != nil {
			return v, err // encoding/json words it
		}
		return anyValue(a.typ, x), nil
	case reflect.String:
		if len(raw) < 2 || raw[0] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
			return v, errSlow
		}
		v.SetString(string(raw[1 : len(raw)-1]))
	case reflect.Bool:
		switch string(raw) {
		case "true":
			v.SetBool(true)
		case "false":
		default:
			return v, errSlow
		}
	case reflect.Float64, reflect.Float32:
		if raw[0] != '-' && !isDigit(raw[0]) {
			return v, errSlow
		}
		f, err := strconv.ParseFloat(string(raw), a.typ.Bits())
		if err != nil {
			return v, errSlow
		}
		v.SetFloat(f)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := parseUint(raw)
		if !ok || v.OverflowUint(n) {
			return v, errSlow
		}
		v.SetUint(n)
	default: // signed integers
		neg := len(raw) > 0 && raw[0] == '-'
		digits := raw
		if neg {
			digits = raw[1:]
		}
		n, ok := parseUint(digits)
		if !ok || n > 1<<63 || (!neg && n == 1<<63) {
			return v, errSlow
		}
		i := int64(n)
		if neg {
			i = -i
		}
		if v.OverflowInt(i) {
			return v, errSlow
		}
		v.SetInt(i)
	}
	return v, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseUint parses a JSON integer without sign, fraction or exponent.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// typeError words a decode failure as "want T, got JSON-type".
func typeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		s := fmt.Sprintf("want %s, got %s", te.Type, te.Value)
		if te.Field != "" {
			s += " in field " + te.Field
		}
		return s
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// argLabel names argument i for error messages: 1, or 1 ("b") when its name is known.
func (cb *callback) argLabel(i int) string {
	if cb.names != nil {
		return fmt.Sprintf("%d (%q)", i, cb.names[i])
	}
	return strconv.Itoa(i)
}

// decodeArgs decodes raw params (nil, an array or an object; already valid JSON) into argument
// values in positional order, appended to in.
func (cb *callback) decodeArgs(params []byte, in []reflect.Value) ([]reflect.Value, *Error) {
	if len(params) == 0 || params[0] == '[' {
		return cb.positional(params, in)
	}
	vals, err := cb.byName(params)
	return append(in, vals...), err
}

// positional decodes an array of params (or none) in one pass. Its errors come in this order:
// too many arguments, a missing required one, then the first value that does not decode.
func (cb *callback) positional(params []byte, in []reflect.Value) ([]reflect.Value, *Error) {
	n := 0
	var bad *Error
	if len(params) > 0 {
		err := wire.EachElem(params, func(s int) int { // params are valid: they are only split here
			if n >= len(cb.args) || bad != nil {
				n++
				return wire.SkipValid(params, s)
			}
			v, e, err := cb.args[n].decodeAt(params, s)
			if err != nil {
				bad = invalidParams("invalid argument %s: %s", cb.argLabel(n), typeError(err))
			}
			in = append(in, v)
			n++
			return e
		})
		if err != nil {
			return nil, invalidParams("invalid params: %v", err)
		}
	}
	switch {
	case n > len(cb.args):
		return nil, invalidParams("too many arguments, want at most %d", len(cb.args))
	case n < cb.required:
		return nil, invalidParams("missing value for required argument %s", cb.argLabel(n))
	case bad != nil:
		return nil, bad
	}
	for _, a := range cb.args[n:] {
		in = append(in, reflect.Zero(a.typ))
	}
	return in, nil
}

func (cb *callback) byName(params []byte) ([]reflect.Value, *Error) {
	switch {
	case cb.names != nil:
		return cb.namedList(params)
	case cb.fields != nil:
		return cb.namedStruct(params)
	case len(cb.args) == 0:
		if err := validEmptyObject(params); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return nil, invalidParams("non-array args: the parameter names of %s are unknown, pass params as an array", cb.name)
}

func validEmptyObject(params []byte) *Error {
	var extra string
	wire.Object(params, 0, func(key []byte, esc bool, _, _ int) error {
		if extra == "" {
			extra, _ = wire.Unquote(key, esc)
		}
		return nil
	})
	if extra != "" {
		return invalidParams("unknown argument %q: the method takes no arguments", extra)
	}
	return nil
}

// namedList decodes an object against declared parameter names.
func (cb *callback) namedList(params []byte) ([]reflect.Value, *Error) {
	raw := make([][]byte, len(cb.args))
	var perr *Error
	_, err := wire.Object(params, 0, func(key []byte, esc bool, s, e int) error {
		name, _ := wire.Unquote(key, esc)
		i, ok := cb.nameIndex[name]
		if !ok {
			perr = invalidParams("unknown argument %q: %s takes %s", name, cb.name, quotedList(cb.names))
			return perr
		}
		raw[i] = params[s:e]
		return nil
	})
	if perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, invalidParams("invalid params: %v", err)
	}
	vals := make([]reflect.Value, len(cb.args))
	for i, a := range cb.args {
		if raw[i] == nil {
			if a.typ.Kind() != reflect.Pointer {
				return nil, invalidParams("missing value for required argument %q", cb.names[i])
			}
			vals[i] = reflect.Zero(a.typ)
			continue
		}
		v, err := a.decode(raw[i])
		if err != nil {
			return nil, invalidParams("invalid argument %q: %s", cb.names[i], typeError(err))
		}
		vals[i] = v
	}
	return vals, nil
}

// namedStruct decodes an object into the method's single struct argument.
func (cb *callback) namedStruct(params []byte) ([]reflect.Value, *Error) {
	sf := cb.fields
	seen := make([]bool, len(sf.names))
	var perr *Error
	wire.Object(params, 0, func(key []byte, esc bool, _, _ int) error {
		name, _ := wire.Unquote(key, esc)
		for i, n := range sf.names {
			if n == name || strings.EqualFold(n, name) {
				seen[i] = true
				return nil
			}
		}
		perr = invalidParams("unknown argument %q: %s takes %s", name, cb.name, quotedList(sf.names))
		return perr
	})
	if perr != nil {
		return nil, perr
	}
	for i, req := range sf.required {
		if req && !seen[i] {
			return nil, invalidParams("missing value for required argument %q", sf.names[i])
		}
	}
	v, err := cb.args[0].decode(params)
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, invalidParams("invalid argument %q: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return nil, invalidParams("invalid params: %s", typeError(err))
	}
	return []reflect.Value{v}, nil
}

func quotedList(names []string) string {
	if len(names) == 0 {
		return "no arguments"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
