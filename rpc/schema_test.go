package rpc

import (
	"encoding/json"
	"math/big"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

type (
	stPlain struct {
		A    int    `json:"a"`
		B    string `json:"b,omitempty"`
		C    *bool  `json:"c"`
		N    int64  `json:"n,string"`
		Skip int    `json:"-"`
		//lint:ignore SA5008 encoding/json names this field "-": the case under test
		Dash int              `json:"-,"`
		Z    time.Time        `json:"z,omitzero"`
		M    map[string]uint8 `json:"m"`
		K    map[int]string   `json:"k"`
		Raw  json.RawMessage  `json:"raw"`
		//lint:ignore U1000 unexported, so not encoded: the case under test
		inner int
		Bytes []byte             `json:"bytes"`
		Arr   [2]float32         `json:"arr"`
		Any   any                `json:"any"`
		Text  map[netip.Addr]int `json:"text"`
	}
	stBase struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	stEmbed struct {
		stBase
		*stMore
		Name string `json:"name"` // shallower: wins over stBase.Name
	}
	stMore   struct{ Extra bool }
	stClash1 struct{ X int }
	stClash2 struct{ X string }
	stClash  struct {
		stClash1
		stClash2 // X at the same depth, both untagged: dropped
		Y        int
	}
	stNode struct {
		Value int     `json:"value"`
		Next  *stNode `json:"next"`
	}
	stTree   []stTree
	stLoop   *stLoop
	stCustom struct{}
	stText   struct{}
)

func (stCustom) MarshalJSON() ([]byte, error)  { return []byte(`1`), nil }
func (stText) MarshalText() ([]byte, error)    { return []byte("t"), nil }
func (*stText) UnmarshalText(b []byte) error   { return nil }
func (*stCustom) UnmarshalJSON(b []byte) error { return nil }

func TestSchemaOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  reflect.Type
		want string // the schema
		defs string // components/schemas, when any
	}{
		{"bool", reflect.TypeFor[bool](), `{"type":"boolean"}`, ""},
		{"int", reflect.TypeFor[int](), `{"type":"integer"}`, ""},
		{"int8", reflect.TypeFor[int8](), `{"type":"integer","minimum":-128,"maximum":127}`, ""},
		{"uint16", reflect.TypeFor[uint16](), `{"type":"integer","minimum":0,"maximum":65535}`, ""},
		{"uint64", reflect.TypeFor[uint64](), `{"type":"integer","minimum":0}`, ""},
		{"float64", reflect.TypeFor[float64](), `{"type":"number"}`, ""},
		{"string", reflect.TypeFor[string](), `{"type":"string"}`, ""},
		{"pointer", reflect.TypeFor[*int](), `{"type":["integer","null"]}`, ""},
		{"slice", reflect.TypeFor[[]string](), `{"type":["array","null"],"items":{"type":"string"}}`, ""},
		{"bytes", reflect.TypeFor[[]byte](), `{"type":["string","null"],"contentEncoding":"base64"}`, ""},
		{"byte array", reflect.TypeFor[[2]byte](), `{"type":"array","items":{"type":"integer","minimum":0,"maximum":255},"minItems":2,"maxItems":2}`, ""},
		{"map", reflect.TypeFor[map[string]bool](), `{"type":["object","null"],"additionalProperties":{"type":"boolean"}}`, ""},
		{"map int keys", reflect.TypeFor[map[int64]bool](), `{"type":["object","null"],"additionalProperties":{"type":"boolean"},"propertyNames":{"pattern":"^-?[0-9]+$"}}`, ""},
		{"time", reflect.TypeFor[time.Time](), `{"type":"string","format":"date-time"}`, ""},
		{"time pointer", reflect.TypeFor[*time.Time](), `{"type":["string","null"],"format":"date-time"}`, ""},
		{"raw message", reflect.TypeFor[json.RawMessage](), `{}`, ""},
		{"json number", reflect.TypeFor[json.Number](), `{"type":"number"}`, ""},
		{"any", reflect.TypeFor[any](), `{}`, ""},
		{"big int", reflect.TypeFor[*big.Int](), `{"type":["integer","null"]}`, ""},
		{"own MarshalJSON", reflect.TypeFor[stCustom](), `{}`, ""},
		{"TextMarshaler", reflect.TypeFor[stText](), `{"type":"string"}`, ""},
		{"netip.Addr", reflect.TypeFor[netip.Addr](), `{"type":"string"}`, ""},
		{"anonymous struct", reflect.TypeFor[struct {
			A int `json:"a,omitempty"`
		}](), `{"type":"object","properties":{"a":{"type":"integer"}}}`, ""},
		{"struct with tags", reflect.TypeFor[stPlain](), `{"$ref":"#/components/schemas/stPlain"}`,
			`{"stPlain":{"type":"object","properties":{` +
				`"-":{"type":"integer"},` +
				`"a":{"type":"integer"},` +
				`"any":{},` +
				`"arr":{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2},` +
				`"b":{"type":"string"},` +
				`"bytes":{"type":["string","null"],"contentEncoding":"base64"},` +
				`"c":{"type":["boolean","null"]},` +
				`"k":{"type":["object","null"],"additionalProperties":{"type":"string"},"propertyNames":{"pattern":"^-?[0-9]+$"}},` +
				`"m":{"type":["object","null"],"additionalProperties":{"type":"integer","minimum":0,"maximum":255}},` +
				`"n":{"type":"string","description":"a JSON value encoded as a string"},` +
				`"raw":{},` +
				`"text":{"type":["object","null"],"additionalProperties":{"type":"integer"}},` +
				`"z":{"type":"string","format":"date-time"}},` +
				`"required":["a","n","-","m","k","raw","bytes","arr","any","text"]}}`},
		{"embedded structs", reflect.TypeFor[stEmbed](), `{"$ref":"#/components/schemas/stEmbed"}`,
			`{"stEmbed":{"type":"object","properties":{"Extra":{"type":"boolean"},"id":{"type":"integer"},"name":{"type":"string"}},"required":["id","Extra","name"]}}`},
		{"name clash", reflect.TypeFor[stClash](), `{"$ref":"#/components/schemas/stClash"}`,
			`{"stClash":{"type":"object","properties":{"Y":{"type":"integer"}},"required":["Y"]}}`},
		{"recursive struct", reflect.TypeFor[stNode](), `{"$ref":"#/components/schemas/stNode"}`,
			`{"stNode":{"type":"object","properties":{"next":{"anyOf":[{"$ref":"#/components/schemas/stNode"},{"type":"null"}]},"value":{"type":"integer"}},"required":["value"]}}`},
		{"recursive pointer", reflect.TypeFor[stLoop](), `{"$ref":"#/components/schemas/stLoop"}`,
			`{"stLoop":{"anyOf":[{"$ref":"#/components/schemas/stLoop"},{"type":"null"}]}}`},
		{"recursive slice", reflect.TypeFor[stTree](), `{"$ref":"#/components/schemas/stTree"}`,
			`{"stTree":{"type":["array","null"],"items":{"$ref":"#/components/schemas/stTree"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newSchemaBuilder()
			got, err := json.Marshal(b.schemaOf(tc.typ))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("schema\n got: %s\nwant: %s", got, tc.want)
			}
			defs := ""
			if len(b.defs) > 0 {
				d, _ := json.Marshal(b.defs)
				defs = string(d)
			}
			if defs != tc.defs {
				t.Errorf("components\n got: %s\nwant: %s", defs, tc.defs)
			}
		})
	}
}

// TestSchemaNames checks that two types of the same name get distinct components.
func TestSchemaNames(t *testing.T) {
	a := func() reflect.Type {
		type T struct{ A int }
		return reflect.TypeFor[T]()
	}()
	b := func() reflect.Type {
		type T struct{ B int }
		return reflect.TypeFor[T]()
	}()
	sb := newSchemaBuilder()
	ra, rb, ra2 := sb.schemaOf(a), sb.schemaOf(b), sb.schemaOf(a)
	if ra.Ref != "#/components/schemas/T" || rb.Ref != "#/components/schemas/rpc.T" || ra2.Ref != ra.Ref {
		t.Errorf("refs %q %q %q", ra.Ref, rb.Ref, ra2.Ref)
	}
	if got := schemaName("Pair[int,string]"); got != "Pair_int_string_" {
		t.Errorf("schemaName = %q", got)
	}
}
