package rpc

import (
	"reflect"
	"strings"
)

// jsonField is one member of a struct's JSON object.
type jsonField struct {
	name     string
	goName   string       // the Go field's name
	owner    reflect.Type // the struct that declares the field (an embedded one, for promoted fields)
	typ      reflect.Type
	tagged   bool // the name comes from a json tag
	depth    int  // embedding depth: 0 for the struct's own fields
	quoted   bool // the ",string" option applies: the value is written as a JSON string
	required bool // neither a pointer nor omitempty/omitzero
}

// jsonFields lists the members encoding/json writes for struct type t, in field order. Fields of
// embedded structs are promoted; where names clash, the shallowest field wins, then the one
// named by a tag, and a clash that remains drops the name, as encoding/json does.
func jsonFields(t reflect.Type) []jsonField {
	var all []jsonField
	collectFields(t, 0, map[reflect.Type]bool{}, &all)
	var out []jsonField
	for i, f := range all {
		if dominant(all, i) {
			out = append(out, f)
		}
	}
	return out
}

func collectFields(t reflect.Type, depth int, seen map[reflect.Type]bool, out *[]jsonField) {
	if seen[t] {
		return // an embedding cycle through pointers
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if !f.IsExported() && et.Kind() != reflect.Struct {
				continue
			}
			if name == "" && et.Kind() == reflect.Struct {
				collectFields(et, depth+1, seen, out)
				continue
			}
		} else if !f.IsExported() {
			continue
		}
		jf := jsonField{name: name, goName: f.Name, owner: t, typ: ft, tagged: name != "", depth: depth}
		if name == "" {
			jf.name = f.Name
		}
		jf.quoted = hasOption(opts, "string") && quotable(ft)
		jf.required = ft.Kind() != reflect.Pointer && !hasOption(opts, "omitempty") && !hasOption(opts, "omitzero")
		*out = append(*out, jf)
	}
}

// dominant reports whether all[i] is the field that encoding/json keeps for its name.
func dominant(all []jsonField, i int) bool {
	f := all[i]
	for j, g := range all {
		if j == i || g.name != f.name {
			continue
		}
		switch {
		case g.depth < f.depth:
			return false
		case g.depth > f.depth:
		case g.tagged && !f.tagged:
			return false
		case g.tagged == f.tagged:
			return false // an unresolved clash hides both
		}
	}
	return true
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// quotable reports whether the ",string" option applies to a field of type t.
func quotable(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}
