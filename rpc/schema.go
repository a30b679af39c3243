package rpc

import (
	"encoding/json"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// jsonSchema is the subset of JSON Schema (draft 7, as OpenRPC 1.3 uses) that describes what
// encoding/json reads and writes for a Go type. Its fields marshal in a fixed order, so
// documents are stable.
type jsonSchema struct {
	Ref                  string                 `json:"$ref,omitempty"`
	Type                 any                    `json:"type,omitempty"` // a name, or names when nullable
	Format               string                 `json:"format,omitempty"`
	ContentEncoding      string                 `json:"contentEncoding,omitempty"`
	Description          string                 `json:"description,omitempty"`
	Const                any                    `json:"const,omitempty"`
	Minimum              json.Number            `json:"minimum,omitempty"`
	Maximum              json.Number            `json:"maximum,omitempty"`
	Items                *jsonSchema            `json:"items,omitempty"`
	MinItems             *int                   `json:"minItems,omitempty"`
	MaxItems             *int                   `json:"maxItems,omitempty"`
	Properties           map[string]*jsonSchema `json:"properties,omitempty"`
	Required             []string               `json:"required,omitempty"`
	AdditionalProperties *jsonSchema            `json:"additionalProperties,omitempty"`
	PropertyNames        *jsonSchema            `json:"propertyNames,omitempty"`
	Pattern              string                 `json:"pattern,omitempty"`
	AnyOf                []*jsonSchema          `json:"anyOf,omitempty"`
}

// schemaRefPrefix is where named types live in an OpenRPC document.
const schemaRefPrefix = "#/components/schemas/"

var (
	timeType       = reflect.TypeFor[time.Time]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	jsonNumberType = reflect.TypeFor[json.Number]()
	bigIntType     = reflect.TypeFor[big.Int]()
)

// schemaBuilder derives schemas from Go types. Named struct types, and named types that refer to
// themselves, are defined once under components/schemas and referred to by $ref.
type schemaBuilder struct {
	defs     map[string]*jsonSchema  // components/schemas
	names    map[reflect.Type]string // types defined in defs
	building map[reflect.Type]bool   // named non-struct types being built (recursion check)
}

func newSchemaBuilder() *schemaBuilder {
	return &schemaBuilder{
		defs:     make(map[string]*jsonSchema),
		names:    make(map[reflect.Type]string),
		building: make(map[reflect.Type]bool),
	}
}

// schemaOf returns the schema of the JSON that encoding/json writes for, and reads into, t,
// described by t's doc when its package registered one.
func (b *schemaBuilder) schemaOf(t reflect.Type) *jsonSchema {
	s := b.shapeOf(t)
	if td, ok := typeDoc(t); ok && s.Ref == "" && s.Description == "" {
		s.Description = td.Doc // a struct's doc goes to its definition instead
	}
	return s
}

// shapeOf returns the schema of t, without docs.
func (b *schemaBuilder) shapeOf(t reflect.Type) *jsonSchema {
	if s := specialSchema(t); s != nil {
		return s
	}
	switch t.Kind() {
	case reflect.Pointer:
		return b.named(t, false, func() *jsonSchema { return nullable(b.schemaOf(t.Elem())) })
	case reflect.Bool:
		return &jsonSchema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return integerSchema(t)
	case reflect.Float32, reflect.Float64:
		return &jsonSchema{Type: "number"}
	case reflect.String:
		return &jsonSchema{Type: "string"}
	case reflect.Struct:
		if t.Name() == "" {
			return b.structSchema(t)
		}
		return b.named(t, true, func() *jsonSchema { return b.structSchema(t) })
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && specialSchema(t.Elem()) == nil &&
			!reflect.PointerTo(t.Elem()).Implements(textMarshalerType) {
			return nullable(&jsonSchema{Type: "string", ContentEncoding: "base64"})
		}
		return b.named(t, false, func() *jsonSchema {
			return nullable(&jsonSchema{Type: "array", Items: b.schemaOf(t.Elem())})
		})
	case reflect.Array:
		return b.named(t, false, func() *jsonSchema {
			n := t.Len()
			return &jsonSchema{Type: "array", Items: b.schemaOf(t.Elem()), MinItems: &n, MaxItems: &n}
		})
	case reflect.Map:
		return b.named(t, false, func() *jsonSchema {
			s := &jsonSchema{Type: "object", AdditionalProperties: b.schemaOf(t.Elem())}
			s.PropertyNames = keySchema(t.Key())
			return nullable(s)
		})
	}
	return &jsonSchema{} // any, and kinds encoding/json cannot handle (never registered)
}

// specialSchema handles the types whose JSON is not their Go shape: their own marshalling,
// time.Time, json.RawMessage, json.Number, big.Int and interfaces.
func specialSchema(t reflect.Type) *jsonSchema {
	switch t {
	case timeType:
		return &jsonSchema{Type: "string", Format: "date-time"}
	case rawMessageType:
		return &jsonSchema{}
	case jsonNumberType:
		return &jsonSchema{Type: "number"}
	case bigIntType:
		return &jsonSchema{Type: "integer"}
	}
	if t.Kind() == reflect.Interface {
		return &jsonSchema{}
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonMarshalerType) || pt.Implements(jsonUnmarshalerType) {
		return &jsonSchema{} // its own JSON: nothing can be said about it
	}
	if pt.Implements(textMarshalerType) || pt.Implements(textUnmarshalerType) {
		return &jsonSchema{Type: "string"}
	}
	return nil
}

// integerSchema gives an integer type's range where JSON numbers can hold it exactly.
func integerSchema(t reflect.Type) *jsonSchema {
	s := &jsonSchema{Type: "integer"}
	switch t.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32:
		bits := t.Bits()
		s.Minimum = json.Number(strconv.FormatInt(-1<<(bits-1), 10))
		s.Maximum = json.Number(strconv.FormatInt(1<<(bits-1)-1, 10))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		s.Minimum = "0"
		s.Maximum = json.Number(strconv.FormatUint(1<<t.Bits()-1, 10))
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		s.Minimum = "0"
	}
	return s
}

// keySchema restricts the member names of a map with integer keys; nil for other keys.
func keySchema(k reflect.Type) *jsonSchema {
	if reflect.PointerTo(k).Implements(textMarshalerType) || reflect.PointerTo(k).Implements(textUnmarshalerType) {
		return nil
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &jsonSchema{Pattern: "^-?[0-9]+$"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &jsonSchema{Pattern: "^[0-9]+$"}
	}
	return nil
}

// nullable also allows null, as Go writes for a nil pointer, slice or map.
func nullable(s *jsonSchema) *jsonSchema {
	switch typ := s.Type.(type) {
	case string:
		if s.Ref == "" && len(s.AnyOf) == 0 {
			s.Type = []string{typ, "null"}
			return s
		}
	case []string:
		return s // already nullable
	case nil:
		if s.Ref == "" && len(s.AnyOf) == 0 {
			return s // {} allows null already
		}
	}
	if len(s.AnyOf) == 2 && s.AnyOf[1].Type == "null" {
		return s
	}
	return &jsonSchema{AnyOf: []*jsonSchema{s, {Type: "null"}}}
}

// named builds a named type's schema. A struct (always is set) is defined under
// components/schemas and referred to; another named type only when it refers to itself.
func (b *schemaBuilder) named(t reflect.Type, always bool, build func() *jsonSchema) *jsonSchema {
	if t.Name() == "" {
		return build()
	}
	if name, ok := b.names[t]; ok {
		return &jsonSchema{Ref: schemaRefPrefix + name}
	}
	if always {
		name := b.define(t)
		s := build()
		if td, ok := typeDoc(t); ok {
			s.Description = td.Doc
		}
		b.defs[name] = s
		return &jsonSchema{Ref: schemaRefPrefix + name}
	}
	if b.building[t] { // it refers to itself: give it a name
		return &jsonSchema{Ref: schemaRefPrefix + b.define(t)}
	}
	b.building[t] = true
	s := build()
	delete(b.building, t)
	if name, ok := b.names[t]; ok {
		b.defs[name] = s
		return &jsonSchema{Ref: schemaRefPrefix + name}
	}
	return s
}

// define chooses t's name under components/schemas: its Go name, qualified by its package when
// another type took the name.
func (b *schemaBuilder) define(t reflect.Type) string {
	base := schemaName(t.Name())
	name := base
	if _, taken := b.defs[name]; taken {
		pkg := t.PkgPath()
		pkg = pkg[strings.LastIndex(pkg, "/")+1:]
		name = schemaName(pkg) + "." + base
		for i := 2; ; i++ {
			if _, taken := b.defs[name]; !taken {
				break
			}
			name = schemaName(pkg) + "." + base + strconv.Itoa(i)
		}
	}
	b.names[t] = name
	b.defs[name] = &jsonSchema{} // reserved; replaced once built
	return name
}

// schemaName keeps the characters a component name may hold ([A-Za-z0-9._-]); generic type
// arguments become underscores.
func schemaName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// structSchema describes a struct as encoding/json encodes it: its exported fields under their
// JSON names, embedded structs' fields promoted. Required are the fields that are neither
// pointers nor tagged omitempty/omitzero, the rule params by name follow.
func (b *schemaBuilder) structSchema(t reflect.Type) *jsonSchema {
	s := &jsonSchema{Type: "object", Properties: make(map[string]*jsonSchema)}
	for _, f := range jsonFields(t) {
		fs := b.schemaOf(f.typ)
		if f.quoted {
			fs = &jsonSchema{Type: "string", Description: "a JSON value encoded as a string"}
		}
		if td, ok := typeDoc(f.owner); ok && td.Fields[f.goName] != "" {
			fs.Description = td.Fields[f.goName]
		}
		s.Properties[f.name] = fs
		if f.required {
			s.Required = append(s.Required, f.name)
		}
	}
	return s
}
