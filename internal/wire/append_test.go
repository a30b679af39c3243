package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// fzEncodeJSON is the reference: encoding/json's encoding of s with HTML escaping off.
func fzEncodeJSON(t testing.TB, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// fzCheckAppendString checks AppendString(prefix, s) against encoding/json.
func fzCheckAppendString(t testing.TB, s string) {
	t.Helper()
	const prefix = "x:"
	out := AppendString([]byte(prefix), s)
	if !bytes.HasPrefix(out, []byte(prefix)) {
		t.Fatalf("AppendString(%q) clobbered the buffer: %q", s, out)
	}
	got := string(out[len(prefix):])
	if want := fzEncodeJSON(t, s); got != want {
		t.Fatalf("AppendString(%q) = %s, encoding/json gives %s", s, got, want)
	}
	if !utf8.ValidString(got) {
		t.Fatalf("AppendString(%q) = %q is not valid UTF-8", s, got)
	}
	if utf8.ValidString(s) {
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || back != s {
			t.Fatalf("AppendString(%q) = %s decodes to %q, %v", s, got, back, err)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	tests := []string{
		"", "abc", `"`, `\`, `\"`, "/", "\b\f\n\r\t", "\x00", "\x1f", "\x7f", "<>&", "<script>",
		"\u2028\u2029", "a\u2028b", "é", "日本語", "😀", "\ufffd", "\uffff", "\U0010ffff",
		"\xff", "\xc3", "a\xc3", "\xc3(", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xe2\x80",
		"\xe2\x80\xa8\xe2\x80", "\x80\x80\x80", "ok\xffok\x00ok\"ok", strings.Repeat("ab\n", 100),
	}
	for c := 0; c < 256; c++ {
		tests = append(tests, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	for _, s := range tests {
		fzCheckAppendString(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\b\f\n\r\t\x00\x1f", "<&>", "\u2028\u2029", "\xff\xfe", "é😀", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fzCheckAppendString(t, s)
	})
}

// TestAppendJSONIntegers checks AppendJSON's integer cases against encoding/json, and that a
// named integer type still goes through encoding/json (its methods, if any, apply).
func TestAppendJSONIntegers(t *testing.T) {
	type named int
	for _, v := range []any{
		0, -1, math.MaxInt, math.MinInt, int64(math.MinInt64), int32(math.MaxInt32),
		uint64(math.MaxUint64), uint(7), uint32(math.MaxUint32), named(-5),
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendJSON([]byte("x"), v)
		if err != nil || string(got) != "x"+string(want) {
			t.Errorf("AppendJSON(%T %v) = %q, %v; want %q", v, v, got, err, "x"+string(want))
		}
	}
}
