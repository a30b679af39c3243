package rpc

import (
	"reflect"
	"strconv"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// resultKind says how a method's result type is encoded: the plain kinds are written by
// appendValue itself, everything else by wire.AppendJSON (so MarshalJSON and MarshalText run).
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
		return wire.AppendString(buf, v.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(buf, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(buf, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(buf, v.Uint(), 10), nil
	}
	return wire.AppendJSON(buf, v.Interface())
}
