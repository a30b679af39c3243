package console

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	for _, tt := range []struct {
		line   string
		method string
		args   string // the positional params as a JSON array, "" for none
		named  string
		notify bool
		err    string
	}{
		{line: "test_add 1 2", method: "test_add", args: `[1,2]`},
		{line: "  test_add   1\t2  ", method: "test_add", args: `[1,2]`},
		{line: "test_add [1,2]", method: "test_add", args: `[1,2]`},
		{line: "test_add [1, 2]", method: "test_add", args: `[1,2]`},
		{line: "test_echo [[1,2]]", method: "test_echo", args: `[[1,2]]`},
		{line: `test_echo {"s":"x"}`, method: "test_echo", named: `{"s":"x"}`},
		{line: `test_echo {"s":"x"} 1`, method: "test_echo", args: `[{"s":"x"},1]`},
		{line: "rpc_modules", method: "rpc_modules"},
		{line: `chat_send lobby ann "hello there"`, method: "chat_send", args: `["lobby","ann","hello there"]`},
		{line: "f true null -1.5e3 abc 12ab", method: "f", args: `[true,null,-1.5e3,"abc","12ab"]`},
		{line: "f truely nullish", method: "f", args: `["truely","nullish"]`},
		{line: `f "a\"b"`, method: "f", args: `["a\"b"]`},
		{line: "f héllo", method: "f", args: `["héllo"]`},
		{line: `{"jsonrpc":"2.0","id":7,"method":"test_add","params":[1,2]}`, method: "test_add", args: `[1,2]`},
		{line: `{"jsonrpc":"2.0","id":7,"method":"m","params":{"a":1}}`, method: "m", named: `{"a":1}`},
		{line: `{"jsonrpc":"2.0","method":"m"}`, method: "m", notify: true},
		{line: `{"jsonrpc":"2.0","id":null,"method":"m"}`, method: "m"},
		{line: "f [1,2", err: "invalid JSON"},
		{line: `f {"a":}`, err: "invalid JSON"},
		{line: `f "open`, err: "invalid JSON"},
		{line: `{"jsonrpc":"2.0","id":1}`, err: "no method"},
		{line: `{"jsonrpc":"2.0","id":1,"method":"m","params":3}`, err: "want an array or an object"},
		{line: `{"method":"m"} x`, err: "after the object"},
		{line: `{"method":`, err: "invalid request object"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r, err := ParseLine(tt.line)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %+v, %v; want error %q", r, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			args := ""
			if r.Args != nil {
				b, _ := json.Marshal(r.Args)
				args = string(b)
			}
			if r.Method != tt.method || args != tt.args || string(r.Named) != tt.named || r.Notify != tt.notify {
				t.Errorf("got method %q args %s named %s notify %v", r.Method, args, r.Named, r.Notify)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		want  string
		named string
	}{
		{[]string{"1", "2"}, `[1,2]`, ""},
		{[]string{"[1,2]"}, `[1,2]`, ""},
		{[]string{`{"a":1}`}, "null", `{"a":1}`},
		{[]string{"hello there", "x"}, `["hello there","x"]`, ""},
		{[]string{"", " 7 "}, `["",7]`, ""},
		{[]string{"[1,"}, `["[1,"]`, ""},
		{nil, "[]", ""},
	} {
		r := ParseArgs("m", tt.args)
		b, _ := json.Marshal(r.Args)
		if string(b) != tt.want || string(r.Named) != tt.named {
			t.Errorf("%q: got %s named %s, want %s named %s", tt.args, b, r.Named, tt.want, tt.named)
		}
	}
}

// FuzzParseLine: no line crashes the parser, and what it accepts has a method.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"test_add 1 2", `{"method":"m","params":[1]}`, `f "a\"`, "f [1,{", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseLine(line)
		if err == nil && r.Method == "" {
			t.Fatalf("%q: no method and no error", line)
		}
		for _, a := range r.Args {
			if !json.Valid(a) {
				t.Fatalf("%q: invalid arg %s", line, a)
			}
		}
	})
}
