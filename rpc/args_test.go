package rpc

import (
	"encoding/json"
	"reflect"
	"testing"
)

// An argument of type any, or of a named empty interface, gets what json.Unmarshal gives, and
// a number out of range is worded as for any other argument.
func TestAnyArgument(t *testing.T) {
	type anything interface{}
	inputs := []string{
		`null`, `true`, `-0`, `1e3`, `123456789012345678`, `"a\u00e9\ud800"`, "\"\xff\"", `[]`, `{}`,
		`[1,"x",{"b":[null,false],"a":{}}]`, `{"a":1,"a":2,"<":"&"}`,
	}
	for _, in := range inputs {
		var want any
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		for _, typ := range []reflect.Type{reflect.TypeFor[any](), reflect.TypeFor[anything]()} {
			a := newArgType(typ)
			if a.fast != reflect.Interface {
				t.Fatalf("%v is not decoded by wire.DecodeAny", typ)
			}
			v, err := a.decode([]byte(in))
			if err != nil || v.Type() != typ || !reflect.DeepEqual(v.Interface(), want) {
				t.Errorf("argument %v from %s = %#v, %v; want %#v", typ, in, v, err, want)
			}
			// in params, where the argument's end is found in the same pass
			params := []byte("[" + in + " , 2]")
			v, end, err := a.decodeAt(params, 1)
			if err != nil || end != 1+len(in) || !reflect.DeepEqual(v.Interface(), want) {
				t.Errorf("argument %v at the start of %s = %#v ending at %d, %v; want %#v ending at %d", typ, params, v, end, err, want, 1+len(in))
			}
		}
	}
	a := newArgType(reflect.TypeFor[any]())
	if _, err := a.decode([]byte("1e400")); err == nil || typeError(err) != "want float64, got number 1e400" {
		t.Fatalf("argument error %v", err)
	}
}
