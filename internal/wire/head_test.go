package wire

import (
	"bytes"
	"strings"
	"testing"
)

func TestHeadID(t *testing.T) {
	pad := strings.Repeat("x", HeadBytes)
	tests := []struct {
		head, want string // want "": nil
	}{
		{`{"jsonrpc":"2.0","id":7,"method":"m","params":["` + pad, `7`},
		{` {"id":"abc","params":["` + pad, `"abc"`},
		{`{"jsonrpc":"2.0","id":-1.5e3,"method":"m"}`, `-1.5e3`},
		{`{"\u0069d":"x","params":[`, `"x"`},                                   // an escaped key
		{`{"params":{"id":1},"id":2,"method":"m","p":"`, `2`},                  // a nested "id" is not the request's
		{`{"params":{"id":1},"method":"m","p":"` + pad, ``},                    // only a nested one
		{`{"id":1,"id":2,"p":"`, `2`},                                          // the last of duplicates
		{`{"jsonrpc":"2.0","method":"m","params":["` + pad + `"],"id":3}`, ``}, // after the large member
		{`{"id":12`, ``},  // cut off: 12 may be 123
		{`{"id":"ab`, ``}, // cut off inside the string
		{`{"id":null,"p":"`, ``},
		{`{"id":true,"p":"`, ``},
		{`{"id":{"a":1},"p":"`, ``},
		{`{"id":[1],"p":"`, ``},
		{`[{"id":1,"method":"m"},{"id":2,"p":"`, ``}, // a batch
		{`"id"`, ``},
		{``, ``},
		{`{"x":01,"id":1,"p":"`, ``},                       // invalid before the id
		{`{"p":"` + pad + `","id":1}`, ``},                 // beyond HeadBytes
		{`{"p":"` + pad[:HeadBytes-20] + `","id":9,`, `9`}, // just within
	}
	for _, tt := range tests {
		got := HeadID([]byte(tt.head))
		if string(got) != tt.want || (tt.want == "") != (got == nil) {
			t.Errorf("HeadID(%.80s) = %q, want %q", tt.head, got, tt.want)
		}
	}
}

// FuzzHeadID: whatever the head, HeadID returns nil or a slice of the head that is a valid
// JSON string or number; and for a valid request object, cutting it anywhere yields either
// nothing or its own id.
func FuzzHeadID(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"a","params":[1]}`, `{"id":"x\"y"}`, `[{"id":1}]`, `{"id":1e5 }`} {
		f.Add([]byte(s), 10)
	}
	f.Fuzz(func(t *testing.T, msg []byte, cut int) {
		id := HeadID(msg)
		if id != nil {
			if Validate(id) != nil || !(id[0] == '"' || id[0] == '-' || isDigit(id[0])) {
				t.Fatalf("HeadID(%q) = %q: not a string or number", msg, id)
			}
			if !bytes.Contains(msg, id) {
				t.Fatalf("HeadID(%q) = %q: not from the head", msg, id)
			}
		}
		i := SkipSpace(msg, 0)
		if i == len(msg) || msg[i] != '{' || len(msg) > HeadBytes || cut < 0 || cut > len(msg) {
			return
		}
		r, err := ParseRequest(msg) // (an object: ParseRequest's premise)
		if err != nil {
			return
		}
		if isID := len(r.ID) > 0 && r.ID[0] != 'n' && r.ID[0] != 't' && r.ID[0] != 'f' && r.ID[0] != '{' && r.ID[0] != '['; isID != (id != nil) || (isID && !bytes.Equal(id, r.ID)) {
			t.Fatalf("HeadID(%q) = %q, the request's id is %q", msg, id, r.ID)
		}
		ids := 0 // the top-level "id" members: a cut head may end before a later duplicate
		Object(msg, SkipSpace(msg, 0), func(key []byte, esc bool, _, _ int) error {
			if KeyIs(key, esc, "id") {
				ids++
			}
			return nil
		})
		if got := HeadID(msg[:cut]); got != nil && ids == 1 && !bytes.Equal(got, r.ID) {
			t.Fatalf("HeadID(%q) = %q, want nil or the request's id %q", msg[:cut], got, r.ID)
		}
	})
}
