package rpc

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestDecodePlain: the client's shortcut for plain results agrees with encoding/json wherever
// it applies, and leaves everything else to it.
func TestDecodePlain(t *testing.T) {
	raws := []string{
		`"abc"`, `""`, `"a\"b"`, `"日本"`, "\"\xff\"", `true`, `false`, `null`, `0`, `-0`, `42`, `-42`,
		`9223372036854775807`, `-9223372036854775808`, `9223372036854775808`, `18446744073709551615`,
		`18446744073709551616`, `1.5`, `1e3`, `"42"`, `[1]`,
	}
	targets := []func() any{
		func() any { return new(string) }, func() any { return new(bool) },
		func() any { return new(int) }, func() any { return new(int64) }, func() any { return new(uint64) },
	}
	for _, raw := range raws {
		for _, mk := range targets {
			fast, slow := mk(), mk()
			errSlow := json.Unmarshal([]byte(raw), slow)
			if decodePlain([]byte(raw), fast) {
				if errSlow != nil || !reflect.DeepEqual(fast, slow) {
					t.Errorf("%s into %T: shortcut gave %v, encoding/json %v (%v)", raw, fast,
						reflect.ValueOf(fast).Elem(), reflect.ValueOf(slow).Elem(), errSlow)
				}
			}
		}
	}
	var s string
	if !decodePlain([]byte(`"plain"`), &s) || s != "plain" {
		t.Fatal("the shortcut did not take a plain string")
	}
}
