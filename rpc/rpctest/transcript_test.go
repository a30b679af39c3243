package rpctest

import "testing"

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		want, got string
		vars      map[string]string // bound before
		ok        bool
	}{
		{`{"result":$A}`, `{"result":"0x12ab"}`, nil, true},
		{`{"result":$A}`, `{"result":"12ab"}`, nil, false},
		{`{"result":$A}`, `{"result":"0x12ab"}`, map[string]string{"$A": `"0x12ab"`}, true},
		{`{"result":$A}`, `{"result":"0x12ac"}`, map[string]string{"$A": `"0x12ab"`}, false},
		{`{"a":$A,"b":$A}`, `{"a":"0x1","b":"0x2"}`, nil, false},
		{`{"epoch":$E}`, `{"epoch":"k3Fz-9"}`, nil, true},
		{`{"epoch":$E}`, `{"epoch":"a\"b\\"}`, nil, true},
		{`{"epoch":$E}`, `{"epoch":12}`, nil, false},
		{`{"epoch":$E2}`, `{"epoch":""}`, nil, true},
		{`{"epoch":$E}`, `{"epoch":"other"}`, map[string]string{"$E": `"k3Fz"`}, false},
		{`{"s":$A,"epoch":$E}`, `{"s":"0xff","epoch":"0xff"}`, nil, true},
	} {
		vars := make(map[string]string)
		for k, v := range tt.vars {
			vars[k] = v
		}
		if got := match([]byte(tt.got), []byte(tt.want), vars); got != tt.ok {
			t.Errorf("match(%s, %s) = %v, want %v", tt.got, tt.want, got, tt.ok)
		}
	}
	vars := make(map[string]string)
	match([]byte(`{"e":"k3Fz","s":"0x1"}`), []byte(`{"e":$E,"s":$A}`), vars)
	if vars["$E"] != `"k3Fz"` || vars["$A"] != `"0x1"` {
		t.Errorf("bound %v", vars)
	}
	if got := string(substitute([]byte(`[$A,{"epoch":$E}]`), vars)); got != `["0x1",{"epoch":"k3Fz"}]` {
		t.Errorf("substitute: %s", got)
	}
}
