package console

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestFormatJSON(t *testing.T) {
	for _, tt := range []struct {
		in, plain string
		compact   bool
	}{
		{`{"a":1,"b":[true,null,"x:y"]}`, "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null,\n    \"x:y\"\n  ]\n}", false},
		{`{"a": 1, "b": "q\"}"}`, `{"a":1,"b":"q\"}"}`, true},
		{`-1.5e+3`, `-1.5e+3`, false},
		{`not json`, `not json`, false},
	} {
		plain := FormatJSON([]byte(tt.in), false, tt.compact)
		if plain != tt.plain {
			t.Errorf("%s: got %q, want %q", tt.in, plain, tt.plain)
		}
		colored := FormatJSON([]byte(tt.in), true, tt.compact)
		if got := ansi.ReplaceAllString(colored, ""); got != tt.plain {
			t.Errorf("%s: colours changed the text: %q", tt.in, got)
		}
	}
	got := FormatJSON([]byte(`{"k":"v","n":2,"t":true}`), true, true)
	for _, want := range []string{colorKey + `"k"`, colorString + `"v"`, colorNumber + "2", colorLit + "true"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

func TestFormatError(t *testing.T) {
	e := &rpc.Error{Code: -32042, Message: "coded failure", Data: json.RawMessage(`{"why":"testing"}`)}
	if got, want := FormatError(e, false), "error -32042: coded failure\ndata: {\n  \"why\": \"testing\"\n}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := FormatError(errors.New("connection refused"), false); got != "error: connection refused" {
		t.Errorf("got %q", got)
	}
	if got := ErrorJSON(e); got != `{"code":-32042,"message":"coded failure","data":{"why":"testing"}}` {
		t.Errorf("ErrorJSON: %s", got)
	}
	if !IsErrorAnswer(e) || IsErrorAnswer(errors.New("x")) {
		t.Error("IsErrorAnswer")
	}
}
