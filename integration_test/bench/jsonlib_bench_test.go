package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1compat "github.com/go-json-experiment/json/v1"
)

// The server's JSON work per call, done by three libraries:
//
//   - v1: encoding/json, as polyrpc uses it: json.Unmarshal per positional param, results
//     through a pooled json.Encoder with SetEscapeHTML(false) appending to a reused buffer.
//   - v2: github.com/go-json-experiment/json with its own defaults (case-sensitive member names,
//     duplicate names and invalid UTF-8 rejected, no HTML escaping, map keys unsorted).
//   - v2-v1compat: github.com/go-json-experiment/json/v1, encoding/json's API and semantics on
//     the v2 engine (what encoding/json itself becomes under GOEXPERIMENT=jsonv2).

// jsonLib is one library's decode and append-encode.
type jsonLib struct {
	name      string
	unmarshal func(data []byte, v any) error
	// appendJSON appends v to buf, without a trailing newline.
	appendJSON func(buf []byte, v any) ([]byte, error)
}

// sliceWriter appends what is written to buf.
type sliceWriter struct{ buf []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// v1Encoder mirrors polyrpc's internal/wire/append.go: a pooled encoder reused between uses.
type v1Encoder struct {
	w   sliceWriter
	enc *json.Encoder
}

var v1Pool = sync.Pool{New: func() any {
	e := new(v1Encoder)
	e.enc = json.NewEncoder(&e.w)
	e.enc.SetEscapeHTML(false)
	return e
}}

func appendV1(buf []byte, v any) ([]byte, error) {
	e := v1Pool.Get().(*v1Encoder)
	e.w.buf = buf
	err := e.enc.Encode(v)
	out := e.w.buf
	e.w.buf = nil
	v1Pool.Put(e)
	if err != nil {
		return buf, err
	}
	return out[:len(out)-1], nil // Encode ends the value with '\n'
}

type v1CompatEncoder struct {
	w   sliceWriter
	enc *jsonv1compat.Encoder
}

var v1CompatPool = sync.Pool{New: func() any {
	e := new(v1CompatEncoder)
	e.enc = jsonv1compat.NewEncoder(&e.w)
	e.enc.SetEscapeHTML(false)
	return e
}}

func appendV1Compat(buf []byte, v any) ([]byte, error) {
	e := v1CompatPool.Get().(*v1CompatEncoder)
	e.w.buf = buf
	err := e.enc.Encode(v)
	out := e.w.buf
	e.w.buf = nil
	v1CompatPool.Put(e)
	if err != nil {
		return buf, err
	}
	return out[:len(out)-1], nil
}

// appendV2 uses MarshalWrite, which takes its encoder from v2's own pool and adds no newline.
func appendV2(buf []byte, v any) ([]byte, error) {
	w := sliceWriter{buf: buf}
	err := jsonv2.MarshalWrite(&w, v)
	return w.buf, err
}

var jsonLibs = []jsonLib{
	{"v1", json.Unmarshal, appendV1},
	{"v2", func(data []byte, v any) error { return jsonv2.Unmarshal(data, v) }, appendV2},
	{"v2-v1compat", jsonv1compat.Unmarshal, appendV1Compat},
}

// The three positional params of test_three as they arrive: raw slices of the request.
var (
	paramInt  = []byte(`35`)
	paramStr  = []byte(`"hello"`)
	paramObj  = []byte(`{"id":7,"name":"seven","values":[1,2,3,4,5,6,7,8],"inner":{"flag":true,"note":"nested"}}`)
	resultObj = Obj{ID: 42, Name: "hello/seven", Values: []int{1, 2, 3, 4, 5, 6, 7, 8, 35}, Inner: Inner{Flag: false, Note: "nested"}}
	resultRaw = []byte(`{"id":42,"name":"hello/seven","values":[1,2,3,4,5,6,7,8,35],"inner":{"flag":false,"note":"nested"}}`)
)

// decodeThree decodes the three params as the server does for a method taking (int, string, Obj).
func decodeThree(lib jsonLib) error {
	var a int
	var s string
	var o Obj
	if err := lib.unmarshal(paramInt, &a); err != nil {
		return err
	}
	if err := lib.unmarshal(paramStr, &s); err != nil {
		return err
	}
	if err := lib.unmarshal(paramObj, &o); err != nil {
		return err
	}
	if a != 35 || s != "hello" || !checkThree(resultObj, a, s, o) {
		return fmt.Errorf("decoded %d, %q, %+v", a, s, o)
	}
	return nil
}

// decodeObj decodes only the struct param: polyrpc decodes plain ints and strings itself
// (rpc/args.go), so the struct is the part of (int, string, Obj) that reaches the library.
func decodeObj(lib jsonLib) error {
	var o Obj
	if err := lib.unmarshal(paramObj, &o); err != nil {
		return err
	}
	if o.ID != 7 || len(o.Values) != 8 || o.Inner.Note != "nested" {
		return fmt.Errorf("decoded %+v", o)
	}
	return nil
}

// echoDoc is a ~64 KiB JSON object, compact with sorted keys as encoding/json writes it: the
// params of an echo call, decoded into any and encoded back as its result.
var echoDoc = sync.OnceValue(func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, 2+n)
		b[0], b[1] = '0', 'x'
		for i := range n {
			b[2+i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	doc := map[string]any{}
	for i := 0; ; i++ {
		logs := make([]any, r.IntN(3))
		for k := range logs {
			logs[k] = map[string]any{
				"address": hex(40),
				"topics":  []any{hex(64), hex(64)},
				"data":    hex(64),
				"removed": false,
			}
		}
		doc["tx"+strconv.Itoa(i)] = map[string]any{
			"hash":     hex(64),
			"nonce":    float64(r.IntN(1 << 20)),
			"gasPrice": float64(r.IntN(1<<30)) / 4,
			"value":    hex(16),
			"input":    hex(2 * r.IntN(48)),
			"success":  r.IntN(2) == 0,
			"memo":     nil,
			"logs":     logs,
			"note":     "transfer #" + strconv.Itoa(i) + " — café ✓",
		}
		out, err := json.Marshal(doc)
		if err != nil {
			panic(err)
		}
		if len(out) >= 64<<10 {
			return out
		}
	}
})

// echo decodes doc into any and encodes it back into buf.
func echo(lib jsonLib, doc, buf []byte) ([]byte, error) {
	var v any
	if err := lib.unmarshal(doc, &v); err != nil {
		return buf, err
	}
	return lib.appendJSON(buf[:0], v)
}

func BenchmarkJSON(b *testing.B) {
	b.Run("decode-params", func(b *testing.B) {
		for _, lib := range jsonLibs {
			b.Run(lib.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := decodeThree(lib); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
	b.Run("decode-obj", func(b *testing.B) {
		for _, lib := range jsonLibs {
			b.Run(lib.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := decodeObj(lib); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
	b.Run("encode-result", func(b *testing.B) {
		for _, lib := range jsonLibs {
			b.Run(lib.name, func(b *testing.B) {
				buf := make([]byte, 0, 512)
				b.ReportAllocs()
				for b.Loop() {
					var err error
					// The server encodes a reflect.Value's Interface(): an Obj in an any.
					if buf, err = lib.appendJSON(buf[:0], any(resultObj)); err != nil {
						b.Fatal(err)
					}
					if !bytes.Equal(buf, resultRaw) {
						b.Fatalf("encoded %s", buf)
					}
				}
			})
		}
	})
	b.Run("echo-64KiB", func(b *testing.B) {
		doc := echoDoc()
		for _, lib := range jsonLibs {
			b.Run(lib.name, func(b *testing.B) {
				buf := make([]byte, 0, len(doc)+1024)
				b.SetBytes(int64(len(doc)))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if buf, err = echo(lib, doc, buf); err != nil {
						b.Fatal(err)
					}
					// v2 leaves map keys unsorted, so only the length is compared here;
					// TestJSONLibs checks the content.
					if len(buf) != len(doc) {
						b.Fatalf("echo is %d bytes, want %d", len(buf), len(doc))
					}
				}
			})
		}
	})
}

// TestJSONLibs checks every library on every workload once, with full comparisons.
func TestJSONLibs(t *testing.T) {
	doc := echoDoc()
	if n := len(doc); n < 64<<10 || n > 66<<10 {
		t.Fatalf("echo document is %d bytes, want about 64 KiB", n)
	}
	var want any
	if err := json.Unmarshal(doc, &want); err != nil {
		t.Fatal(err)
	}
	for _, lib := range jsonLibs {
		if err := decodeThree(lib); err != nil {
			t.Errorf("%s: decode params: %v", lib.name, err)
		}
		if err := decodeObj(lib); err != nil {
			t.Errorf("%s: decode obj: %v", lib.name, err)
		}
		out, err := lib.appendJSON(nil, any(resultObj))
		if err != nil || !bytes.Equal(out, resultRaw) {
			t.Errorf("%s: encode result: %s, %v", lib.name, out, err)
		}
		out, err = echo(lib, doc, nil)
		if err != nil {
			t.Fatalf("%s: echo: %v", lib.name, err)
		}
		var got any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: echo output: %v", lib.name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: echo changed the document", lib.name)
		}
		if lib.name != "v2" && !bytes.Equal(out, doc) {
			t.Errorf("%s: echo is not byte-identical to the input", lib.name)
		}
	}
}

// TestV2Differences pins the v2 default behaviours that differ from what encoding/json, and so
// go-ethereum clients and polyrpc today, accept or produce. They are why v2 is not a drop-in
// replacement for the server's param decoding.
func TestV2Differences(t *testing.T) {
	// Member names: v1 matches case-insensitively, v2 exactly.
	var o1, o2 Obj
	in := []byte(`{"ID":1,"Name":"x"}`)
	if err := json.Unmarshal(in, &o1); err != nil || o1.ID != 1 || o1.Name != "x" {
		t.Errorf("v1: %+v, %v", o1, err)
	}
	if err := jsonv2.Unmarshal(in, &o2); err != nil || o2.ID != 0 || o2.Name != "" {
		t.Errorf("v2 should ignore differently cased names: %+v, %v", o2, err)
	}
	// Duplicate names: v1 keeps the last, v2 rejects the object.
	dup := []byte(`{"id":1,"id":2}`)
	if err := json.Unmarshal(dup, &o1); err != nil || o1.ID != 2 {
		t.Errorf("v1 duplicate: %+v, %v", o1, err)
	}
	if err := jsonv2.Unmarshal(dup, &o2); err == nil {
		t.Error("v2 should reject duplicate names")
	}
	// Invalid UTF-8 in strings: v1 replaces it with U+FFFD, v2 rejects it.
	var s string
	bad := []byte("\"a\xffb\"")
	if err := json.Unmarshal(bad, &s); err != nil || s != "a\ufffdb" {
		t.Errorf("v1 invalid UTF-8: %q, %v", s, err)
	}
	if err := jsonv2.Unmarshal(bad, &s); err == nil {
		t.Error("v2 should reject invalid UTF-8")
	}
	// Nil slices and maps: v1 writes null, v2 writes [] and {}.
	out1, _ := json.Marshal(Obj{})
	out2, _ := jsonv2.Marshal(Obj{})
	if !bytes.Contains(out1, []byte(`"values":null`)) || !bytes.Contains(out2, []byte(`"values":[]`)) {
		t.Errorf("nil slice: v1 %s, v2 %s", out1, out2)
	}
	// []byte: both base64, but a [N]byte array is a JSON array in v1 and base64 in v2.
	a1, _ := json.Marshal([2]byte{1, 2})
	a2, _ := jsonv2.Marshal([2]byte{1, 2})
	if string(a1) != "[1,2]" || string(a2) != `"AQI="` {
		t.Errorf("byte array: v1 %s, v2 %s", a1, a2)
	}
	// omitempty: v1 leaves out false and 0, v2 only empty JSON values ("", null, [], {}).
	type opt struct {
		N uint64 `json:"n,omitempty"`
		B bool   `json:"b,omitempty"`
	}
	e1, _ := json.Marshal(opt{})
	e2, _ := jsonv2.Marshal(opt{})
	if string(e1) != `{}` || string(e2) != `{"n":0,"b":false}` {
		t.Errorf("omitempty: v1 %s, v2 %s", e1, e2)
	}
	// time.Duration: v1 writes nanoseconds, v2 has no default representation and fails.
	if d, err := json.Marshal(time.Second); err != nil || string(d) != "1000000000" {
		t.Errorf("v1 duration: %s, %v", d, err)
	}
	if _, err := jsonv2.Marshal(time.Second); err == nil {
		t.Error("v2 should refuse a time.Duration without a format option")
	}
	// Errors: v1 reports *json.UnmarshalTypeError, which polyrpc's -32602 messages are worded
	// from (rpc/args.go typeError); v2 reports its own *SemanticError.
	var n int
	err := jsonv2.Unmarshal([]byte(`"x"`), &n)
	var te *json.UnmarshalTypeError
	var se *jsonv2.SemanticError
	if err == nil || errors.As(err, &te) || !errors.As(err, &se) {
		t.Errorf("v2 type error: %T %v", err, err)
	}
	// The v1 compatibility package keeps v1's behaviour on all of these.
	var o3 Obj
	if err := jsonv1compat.Unmarshal(in, &o3); err != nil || o3.ID != 1 {
		t.Errorf("v1compat names: %+v, %v", o3, err)
	}
	if err := jsonv1compat.Unmarshal(dup, &o3); err != nil || o3.ID != 2 {
		t.Errorf("v1compat duplicate: %+v, %v", o3, err)
	}
	if err := jsonv1compat.Unmarshal(bad, &s); err != nil || s != "a\ufffdb" {
		t.Errorf("v1compat invalid UTF-8: %q, %v", s, err)
	}
	if out, _ := jsonv1compat.Marshal(Obj{}); !bytes.Equal(out, out1) {
		t.Errorf("v1compat nil slice: %s", out)
	}
	if out, _ := jsonv1compat.Marshal(opt{}); string(out) != `{}` {
		t.Errorf("v1compat omitempty: %s", out)
	}
	if err := jsonv1compat.Unmarshal([]byte(`"x"`), &n); !errors.As(err, new(*jsonv1compat.UnmarshalTypeError)) {
		t.Errorf("v1compat type error: %T %v", err, err)
	}
}
