package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// fzValidityTable holds inputs for comparing Validate with json.Valid; the expected answer
// comes from encoding/json, so only the inputs are listed.
var fzValidityTable = []string{
	// numbers
	`0`, `-0`, `01`, `-01`, `00`, `1.`, `.5`, `-.5`, `1e`, `1e+`, `1e-`, `1e+5`, `1E-5`, `1e05`,
	`-`, `--1`, `+1`, `1.5e3`, `0.0`, `-0.0e-0`, `1.e5`, `0x10`, `1_000`, `123abc`, `1.2.3`,
	`12345678901234567890123456789`, `Infinity`, `-Infinity`, `NaN`, `1e1.5`, `0e`, `-e1`,
	// strings
	`""`, `"abc"`, `"\""`, `"\\\/\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\uD83D\uDE00"`, `"\ud800"`,
	`"\x"`, `"\u12"`, `"\u12g4"`, `"\U1234"`, `"\'"`, `"\u"`, `"\`, `"abc`, `"abc\"`, `"a` + "\t" + `"`,
	`"a` + "\n" + `"`, "\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"",
	"\"\xe2\x80\xa8\"", `'a'`, `"a"b"`,
	// literals
	`true`, `false`, `null`, `tru`, `nul`, `fals`, `True`, `NULL`, `nulll`, `truefalse`, `t`, `nil`,
	// nesting
	`{}`, `[]`, `{"a":[1,{"b":null}]}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{1:2}`,
	`{"a":1 "b":2}`, `[1 2]`, `[[[]]]`, `[[]`, `[]]`, `{'a':1}`, `{"a":1}}`, `{"a"::1}`, `{"a",1}`,
	`[1,,2]`, `[`, `{`, `]`, `}`, `{"a":1`, `{"a"`, `{"a":`, `[1`, `[1,`, ` [ 1 , { "a" : [ ] } ] `,
	`{"a":{"b":{"c":[true,false,null,"x",-1.5e-3]}}}`, `{"a":1,"a":2}`, "{\"\xff\":1}",
	// trailing garbage, several values
	`{} x`, `1 2`, `[] []`, `"a" "b"`, `null,`, `{}}`, `1,`, `true x`, `0 0`, `[]` + "\x00",
	// empty input and whitespace
	``, ` `, " \t\r\n", " \t\r\n1\n", "\v1", "\f1", "\u00a01", "\xef\xbb\xbf{}", "1\u00a0", "[1\v]",
	"{\n\"a\"\t:\r1 }",
	// depth: encoding/json allows 10000 levels, as maxDepth does
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	strings.Repeat("[", maxDepth-1) + `{"a":1}` + strings.Repeat("]", maxDepth-1),
	strings.Repeat("[", maxDepth) + `{"a":1}` + strings.Repeat("]", maxDepth),
}

func TestValidateMatchesEncodingJSON(t *testing.T) {
	for _, in := range fzValidityTable {
		got := Validate([]byte(in))
		if want := json.Valid([]byte(in)); (got == nil) != want {
			t.Errorf("Validate(%.40q) = %v, json.Valid = %v", in, got, want)
		}
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil with ok true: no elements
		ok   bool
	}{
		{`[]`, nil, true},
		{` [ ] `, nil, true},
		{`[1]`, []string{`1`}, true},
		{" [ 1 , \"a,]\\\"\" ,\n{\"x\":[2,3]} , [ ] ,null ] \n", []string{`1`, `"a,]\""`, `{"x":[2,3]}`, `[ ]`, `null`}, true},
		{`[{"a":"]"},[[]],-0.5e3]`, []string{`{"a":"]"}`, `[[]]`, `-0.5e3`}, true},
		{`[1,]`, nil, false},
		{`[1`, nil, false},
		{`[1 2]`, nil, false},
		{`[1] x`, nil, false},
		{`[1][2]`, nil, false},
		{`[1]]`, nil, false},
		{`["\x"]`, nil, false},
	}
	for _, tt := range tests {
		got, err := SplitArray([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("SplitArray(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("SplitArray(%q) = %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("SplitArray(%q)[%d] = %q, want %q", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestKeyIsAndUnquote(t *testing.T) {
	keys := []struct {
		raw  string
		name string
		want bool
	}{
		{`"id"`, "id", true},
		{`"\u0069d"`, "id", true},
		{`"i\u0064"`, "id", true},
		{`"\u0069\u0064"`, "id", true},
		{`"ID"`, "id", false},
		{`"idx"`, "id", false},
		{`"i"`, "id", false},
		{`""`, "id", false},
		{`"i\\d"`, "id", false},
		{`"\"id\""`, "id", false},
		{`"\u0069d\u0000"`, "id", false},
		{`"jsonrpc"`, "jsonrpc", true},
		{`"json\/rpc"`, "json/rpc", true},
		{`"\u00e9"`, "é", true},
		{`"\uD83D\uDE00"`, "😀", true},
	}
	for _, k := range keys {
		esc := strings.Contains(k.raw, `\`)
		if got := KeyIs([]byte(k.raw), esc, k.name); got != k.want {
			t.Errorf("KeyIs(%s, %q) = %v, want %v", k.raw, k.name, got, k.want)
		}
	}

	strs := []struct {
		raw  string
		want string
		ok   bool
	}{
		{`"abc"`, "abc", true},
		{`""`, "", true},
		{`"a\nb\t\"\\"`, "a\nb\t\"\\", true},
		{`"\u00e9\u2028"`, "é\u2028", true},
		{`"\ud800"`, "\ufffd", true}, // a lone surrogate decodes as encoding/json decodes it
		{"\"\xff\"", "\xff", true},   // no escapes: bytes kept as they are
		{`2`, "", false},             // not a string: a version or method of the wrong type
		{`20`, "", false},
		{`null`, "", false},
		{`["2.0"]`, "", false},
		{``, "", false}, // a missing member
	}
	for _, s := range strs {
		esc := strings.Contains(s.raw, `\`)
		got, ok := Unquote([]byte(s.raw), esc)
		if got != s.want || ok != s.ok {
			t.Errorf("Unquote(%s) = %q, %v; want %q, %v", s.raw, got, ok, s.want, s.ok)
		}
	}
	if _, ok := Unquote(nil, false); ok {
		t.Error("Unquote(nil) reported ok")
	}
}

// FuzzScanner holds Validate to json.Valid, and SplitArray and ParseBatch to encoding/json's
// split of an array, on any input.
func FuzzScanner(f *testing.F) {
	for _, s := range fzValidityTable {
		if len(s) < 100 {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Validate(b)
		if want := json.Valid(b); (err == nil) != want {
			t.Fatalf("Validate(%q) = %v, json.Valid = %v", b, err, want)
		}
		v := bytes.TrimLeft(b, " \t\r\n")
		if len(v) == 0 || v[0] != '[' {
			return
		}
		elems, err := SplitArray(b)
		var want []json.RawMessage
		if json.Unmarshal(b, &want) != nil {
			if err == nil {
				t.Fatalf("SplitArray(%q) accepted invalid JSON", b)
			}
			if ParseBatch(b, func(Request, bool) {}) == nil {
				t.Fatalf("ParseBatch(%q) accepted invalid JSON", b)
			}
			return
		}
		if err != nil || len(elems) != len(want) {
			t.Fatalf("SplitArray(%q) = %q, %v; want %q", b, elems, err, want)
		}
		for i := range want {
			if !bytes.Equal(elems[i], want[i]) {
				t.Fatalf("SplitArray(%q)[%d] = %q, want %q", b, i, elems[i], want[i])
			}
		}
		checkParseBatch(t, b, elems)
	})
}
