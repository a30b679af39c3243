package wire

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/internal/wire/wiretest"
)

// Values that decoding never gives: special floats, json.Number, nil containers, other types
// inside (handed to encoding/json) and containers that hold themselves.
func TestAppendAnyValues(t *testing.T) {
	type point struct {
		X int    `json:"x"`
		S string `json:"s,omitempty"`
	}
	cyclic := map[string]any{"a": 1.0}
	cyclic["self"] = cyclic
	loop := []any{1.0, nil}
	loop[1] = loop
	deep := any("bottom")
	for range 3 * cycleDepth {
		deep = []any{map[string]any{"d": deep}}
	}
	values := []any{
		nil, true, false, "", "<&>\u2028\u2029\xff\x00\x1f\x7f", math.Copysign(0, -1), 0.0, 1.0, -1.0,
		0.5, 1e-6, 1e-7, 9.99e-7, 1e20, 1e21, -1e21, 1e100, 123456789.125, float64(1 << 53), float64(1<<53 + 2),
		float64(-(1 << 53)), 1<<63 + 0.0, 5e-324, math.MaxFloat64, -math.SmallestNonzeroFloat64, 1e-10, 12e-9,
		math.NaN(), math.Inf(1), math.Inf(-1), []any{1.0, math.NaN()}, map[string]any{"x": math.Inf(-1)},
		json.Number(""), json.Number("12.5e-3"), json.Number("-0"), json.Number("1e400"),
		json.Number("01"), json.Number("0x1"), json.Number(" 1"), []any{json.Number("nope")},
		map[string]any(nil), []any(nil), []any{}, map[string]any{},
		[]any{map[string]any(nil), []any(nil), nil},
		map[string]any{"z": 1.0, "a": []any{}, "M": map[string]any{"<": ">"}, "é": 2.0, "": "", "\xff": 3.0},
		map[string]any{"p": point{X: 1}, "n": 7, "u": uint8(3), "b": []byte("hi"), "r": json.RawMessage(` { "a" : [ 1 , "<" ] } `)},
		[]any{point{X: 2, S: "<s>"}, json.RawMessage(`nul`), map[string]int{"b": 1, "a": 2}},
		cyclic, loop, deep, strings.Repeat("é<", 1000),
	}
	for _, v := range values {
		checkAnyEncode(t, v)
	}
	for _, v := range values {
		if !isPlainJSON(v) {
			t.Errorf("%T is not plain JSON", v)
		}
	}
	for _, v := range []any{point{}, 1, json.RawMessage("1"), map[string]int{}, []string{}, &[]any{}} {
		if isPlainJSON(v) {
			t.Errorf("%T is plain JSON", v)
		}
		checkAnyEncode(t, v)
	}
}

// Encoding allocates nothing but the buffer's growth.
func TestAppendAnyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	v, err := DecodeAny(wiretest.EchoDoc())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256<<10)
	AppendJSON(buf, v)
	if n := testing.AllocsPerRun(20, func() { AppendJSON(buf, v) }); n > 0 {
		t.Errorf("%v allocations per encode", n)
	}
}
