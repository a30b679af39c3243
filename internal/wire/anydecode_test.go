package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/internal/wire/wiretest"
)

// anyJSONTable holds inputs for the equivalence of DecodeAny and appendAny with encoding/json.
var anyJSONTable = []string{
	// literals and numbers
	`null`, `true`, `false`, `0`, `-0`, `-0.0`, `0.0e0`, `1`, `-1`, `123456789012345`,
	`-123456789012345`, `1234567890123456`, `9007199254740993`, `12345678901234567890123456789`,
	`1.5`, `-2.25`, `0.1`, `1e3`, `1E+3`, `1e-7`, `1e21`, `1e20`, `100000000000000000000`,
	`123456789.123456789`, `5e-324`, `4e-324`, `2e-324`, `1e-400`, `-1e-400`, `1.7976931348623157e308`,
	`1.7976931348623159e308`, `1e400`, `-1e400`, `[1, 1e400, 2e400]`, `{"a":{"b":[0,-1e999]}}`,
	`0.000001`, `0.0000009999`, `1e-6`, `999999999999999999999`, `0.1`, `0.3`, `-0.0`, `2.675`,
	`123456789.25`, `9007199254740.993`, `999999999999999.9`, `99999999999999.99`, `0.000000000000001`,
	`0.0000000000000001`, `1.000000000000001`, `-45.678e0`, `3.14159265358979`, `100.000`,
	// strings
	`""`, `"abc"`, `"\""`, `"\\\/\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9x"`, `"\uD83D\uDE00"`, `"\ud800"`,
	`"\udc00"`, `"\ud800\ud800"`, `"\ud800\udc00\udc00"`, `"\ud800x"`, `"\ud800\n"`, `"\ud800\u0041"`,
	`"\udbff\udfff"`, `"\u0000"`, `"\u2028\u2029"`, "\"\u2028\u2029\"", `"<a href='x'>&amp;</a>"`,
	`"\u003c\u003e\u0026"`, "\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\"", "\"\xff\"", "\"a\xffb\\n\"",
	"\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\x7f\"",
	"\"\xef\xbf\xbd\"", `"\ufffd"`,
	// containers
	`[]`, `{}`, `[ ]`, `{ }`, `[1,"a\"]\\",{"b":[2,{}]} , [ ] ,true,null,-1.5e3 ]`, `["\\\\\"\\"]`, `[null]`, `[[]]`, `[{}]`, `{"":""}`, `{"a":1,"a":2}`,
	`{"b":1,"a":2,"B":3,"é":4,"\u00e9":5,"~":6,"0":7}`, `{"a\"b":1, "\u0041":[1,"x",{"y":null}]}`,
	" \t\r\n[ 1 , 2 ,\n\"x\" ] ", `{"k" : { "k" : { "k" : [ true , false , null ] } } }`,
	"{\"\xff\":1,\"\\ud800\":2}", `{"<&>":"<&>"}`, `[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]`,
}

// anyJSONDeep returns arrays and objects nested n deep.
func anyJSONDeep(n int) []string {
	return []string{
		strings.Repeat("[", n) + strings.Repeat("]", n),
		strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1),
		strings.Repeat(`[{"a":`, n/2) + "1" + strings.Repeat("}]", n/2),
	}
}

// sameAny reports whether a and b are equal values of the plain JSON shapes, telling -0 from 0,
// nil from empty containers and the dynamic types apart.
func sameAny(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []any:
		y, ok := b.([]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameAny(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameAny(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

// marshalNoHTML is encoding/json's encoding with HTML escaping off, as the server writes results.
func marshalNoHTML(v any) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// checkAnyJSON checks DecodeAny on b against json.Unmarshal into an any, and the encoding of
// the decoded value against encoding/json's. Input that encoding/json refuses is skipped (after
// checking that the scanner refuses it too).
func checkAnyJSON(t *testing.T, b []byte) {
	t.Helper()
	if err := Validate(b); (err == nil) != json.Valid(b) {
		t.Fatalf("Validate(%q) = %v, json.Valid disagrees", b, err)
	}
	if !json.Valid(b) {
		return
	}
	b = bytes.Trim(b, " \t\r\n")
	checkEachElem(t, b)
	var want any
	werr := json.Unmarshal(b, &want)
	got, gerr := DecodeAny(b)
	if werr != nil || gerr != nil {
		if !reflect.DeepEqual(gerr, werr) {
			t.Fatalf("DecodeAny(%q): error %#v, encoding/json %#v", b, gerr, werr)
		}
		return
	}
	if !sameAny(got, want) {
		t.Fatalf("DecodeAny(%q) = %#v, encoding/json %#v", b, got, want)
	}
	checkAnyEncode(t, got)
}

// checkAnyEncode checks appendAny and AppendJSON on v against encoding/json with HTML escaping
// off, errors included.
func checkAnyEncode(t *testing.T, v any) {
	t.Helper()
	prefix := []byte("prefix")
	want, werr := marshalNoHTML(v)
	got, gerr := appendAny(prefix, v)
	if werr != nil || gerr != nil {
		if gerr == nil || werr == nil || gerr.Error() != werr.Error() || reflect.TypeOf(gerr) != reflect.TypeOf(werr) {
			t.Fatalf("appendAny(%#v): error %v, encoding/json %v", v, gerr, werr)
		}
		if string(got) != "prefix" {
			t.Fatalf("appendAny(%#v) failed but changed the buffer: %q", v, got)
		}
		return
	}
	if !bytes.Equal(got, append(prefix, want...)) {
		t.Fatalf("appendAny(%#v) =\n%q, encoding/json\n%q", v, got[len(prefix):], want)
	}
	if got, err := AppendJSON(nil, v); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON(%#v) = %q, %v; want %q", v, got, err, want)
	}
}

// checkEachElem checks EachElem's bounds on the valid JSON b against SplitArray's.
func checkEachElem(t *testing.T, b []byte) {
	t.Helper()
	if b[0] != '[' {
		return
	}
	want, err := SplitArray(b)
	var got [][]byte
	if err == nil {
		err = EachElem(b, func(s int) int {
			e := SkipValid(b, s)
			got = append(got, b[s:e])
			return e
		})
	}
	if err != nil || len(got) != len(want) {
		t.Fatalf("EachElem(%q) = %q, %v; want %q", b, got, err, want)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("EachElem(%q)[%d] = %q, want %q", b, i, got[i], want[i])
		}
	}
}

// EachElem never panics, whatever it is given.
func TestEachElemInvalid(t *testing.T) {
	for _, s := range append([]string{`[`, `["`, `["\`, `["\"`, `[1,`, `[1`, `[{`, `[[]`, `[}`, `[]]`}, fzValidityTable...) {
		if len(s) > 0 && s[0] == '[' {
			b := []byte(s)
			EachElem(b, func(s int) int { return SkipValid(b, s) })
		}
	}
}

func TestDecodeAnyTable(t *testing.T) {
	for _, s := range append(append(anyJSONTable, fzValidityTable...), anyJSONDeep(maxDepth)...) {
		checkAnyJSON(t, []byte(s))
	}
	for c := range 256 {
		checkAnyJSON(t, []byte{'"', 'a', byte(c), 'b', '"'})
		checkAnyJSON(t, []byte(`"\u00`+strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&15, 16)+`"`))
	}
}

// The first number out of range is the error, wherever it is, with encoding/json's offset.
func TestDecodeAnyRangeError(t *testing.T) {
	_, err := DecodeAny([]byte(`{"a":[1,2e400],"b":-3e999}`))
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Value != "number 2e400" || te.Type != float64Type || te.Offset != 14 {
		t.Fatalf("error %#v", err)
	}
}

// Decimals of up to 15 digits, converted without strconv, are rounded as strconv rounds them.
func TestDecodeAnyDecimals(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		digits := 1 + rng.IntN(15)
		var b []byte
		if rng.IntN(2) == 0 {
			b = append(b, '-')
		}
		intDigits := rng.IntN(digits + 1) // 0: "0." then the digits
		for k := range digits {
			if k == intDigits {
				if k == 0 {
					b = append(b, '0')
				}
				b = append(b, '.')
			}
			c := byte('0' + rng.IntN(10))
			if k == 0 && intDigits > 0 && c == '0' {
				c = '1'
			}
			b = append(b, c)
		}
		if !json.Valid(b) {
			t.Fatalf("generated %s", b)
		}
		got, err := DecodeAny(b)
		want, werr := strconv.ParseFloat(string(b), 64)
		if err != nil || werr != nil || math.Float64bits(got.(float64)) != math.Float64bits(want) {
			t.Fatalf("DecodeAny(%s) = %v, %v; strconv %v, %v", b, got, err, want, werr)
		}
	}
}

func TestDecodeAnyDoc(t *testing.T) {
	checkAnyJSON(t, wiretest.EchoDoc())
}

// FuzzAnyJSON: for any input encoding/json accepts, DecodeAny gives what json.Unmarshal gives
// into an any, and appendAny encodes that value as encoding/json does with HTML escaping off.
func FuzzAnyJSON(f *testing.F) {
	for _, s := range append(anyJSONTable, fzValidityTable...) {
		f.Add([]byte(s))
	}
	f.Add(wiretest.EchoDoc()[:2000])
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAnyJSON(t, b)
	})
}

// BenchmarkAnyJSON64KiB: the server's work on the 64 KiB echo document, decoded into an any
// and encoded back, by this package's fast path and by encoding/json.
func BenchmarkAnyJSON64KiB(b *testing.B) {
	doc := wiretest.EchoDoc()
	v, err := DecodeAny(doc)
	if err != nil {
		b.Fatal(err)
	}
	// a fresh buffer of the server's initial size each time: large answers outgrow the pool
	const bufSize = 512
	decoders := []struct {
		name string
		fn   func() (any, error)
	}{
		{"polyrpc", func() (any, error) { return DecodeAny(doc) }},
		{"encoding-json", func() (any, error) {
			var x any
			err := json.Unmarshal(doc, &x)
			return x, err
		}},
	}
	encoders := []struct {
		name string
		fn   func(buf []byte, v any) ([]byte, error)
	}{
		{"polyrpc", AppendJSON},
		{"encoding-json", appendJSONSlow},
	}
	for _, d := range decoders {
		b.Run("decode/"+d.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, e := range encoders {
		b.Run("encode/"+e.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.fn(make([]byte, 0, bufSize), v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for i := range decoders {
		b.Run("echo/"+decoders[i].name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				x, err := decoders[i].fn()
				if err == nil {
					_, err = encoders[i].fn(make([]byte, 0, bufSize), x)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
