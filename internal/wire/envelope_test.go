package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		in   string
		want Request
		ok   bool
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"a_b","params":[1,{"x":2}]}`,
			Request{Version: []byte(`"2.0"`), ID: []byte(`1`), Method: []byte(`"a_b"`), Params: []byte(`[1,{"x":2}]`)}, true},
		{` { "method" : "m" , "params" : null } `, Request{Method: []byte(`"m"`), Params: []byte(`null`)}, true},
		{`{"\u0069d":"x","m\u0065thod":1,"jsonrpc":2}`, Request{Version: []byte(`2`), ID: []byte(`"x"`), Method: []byte(`1`)}, true},
		{`{"id":1,"id":2}`, Request{ID: []byte(`2`)}, true}, // the last of duplicates, as encoding/json
		{`{"id":null,"result":1}`, Request{ID: []byte(`null`), IsResponse: true}, true},
		{`{"error":{}}`, Request{IsResponse: true}, true},
		{`{"ID":1,"Method":"m","other":[]}`, Request{}, true}, // member names are case-sensitive
		{`{}`, Request{}, true},
		{`{"id":1} x`, Request{}, false},
		{`{"id":1`, Request{}, false},
		{`{"id":01}`, Request{}, false},
	}
	for _, tt := range tests {
		got, err := ParseRequest([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("ParseRequest(%s): error %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseRequest(%s) = %s, want %s", tt.in, fmtRequest(got), fmtRequest(tt.want))
		}
	}
}

func TestMethodName(t *testing.T) {
	for raw, want := range map[string]string{`"a_b"`: "a_b", `"a\u005fb"`: "a_b", `1`: "", ``: "", `"\ud800"`: "\ufffd"} {
		r := Request{Method: []byte(raw)}
		if raw == "" {
			r.Method = nil
		}
		if got := r.MethodName(); got != want {
			t.Errorf("MethodName of %s = %q, want %q", raw, got, want)
		}
	}
}

// checkParseBatch checks ParseBatch on the valid batch b against its elements as SplitArray
// gives them: each object's envelope as ParseRequest gives it, and no envelope for the rest.
func checkParseBatch(t *testing.T, b []byte, elems [][]byte) {
	t.Helper()
	type item struct {
		r      Request
		object bool
	}
	var got []item
	if err := ParseBatch(b, func(r Request, object bool) { got = append(got, item{r, object}) }); err != nil {
		t.Fatalf("ParseBatch(%q): %v", b, err)
	}
	if len(got) != len(elems) {
		t.Fatalf("ParseBatch(%q) gave %d elements, want %d", b, len(got), len(elems))
	}
	for i, e := range elems {
		var want item
		if e[0] == '{' {
			r, err := ParseRequest(e)
			if err != nil {
				t.Fatalf("ParseRequest(%q): %v", e, err)
			}
			want = item{r, true}
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("ParseBatch(%q)[%d] = %s (object %v), want %s (object %v)", b, i, fmtRequest(got[i].r), got[i].object, fmtRequest(want.r), want.object)
		}
	}
}

func TestParseBatch(t *testing.T) {
	valid := []string{
		`[]`, ` [ ] `, `[1]`, `[{}]`, `[{"id":1,"method":"a"}, 2, "x", [], {"jsonrpc":"2.0","params":{}}, null]`,
		`[{"id":1,"id":2},{"result":1}]`, "[\n{\"method\" : \"m\"}\n]\n",
	}
	for _, s := range valid {
		elems, err := SplitArray([]byte(s))
		if err != nil {
			t.Fatalf("SplitArray(%s): %v", s, err)
		}
		checkParseBatch(t, []byte(s), elems)
	}
	for _, s := range append([]string{`[{"id":1},]`, `[{"id":1}`, `[{"id":1}] x`, `[{"id" 1}]`, `[1,{]`}, fzValidityTable...) {
		if json.Valid([]byte(s)) {
			continue
		}
		if err := ParseBatch([]byte(s), func(Request, bool) {}); err == nil {
			t.Errorf("ParseBatch(%.40q) accepted invalid JSON", s)
		}
	}
}

// unencodable cannot be encoded: AppendJSON fails on it.
type unencodable struct{}

func (unencodable) MarshalJSON() ([]byte, error) { return nil, errors.New("no JSON for this") }

func TestAppendEnvelopes(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"result head", append(AppendResultHead([]byte("x"), []byte(`7`)), `1}`...),
			`x{"jsonrpc":"2.0","id":7,"result":1}`},
		{"result head, id null", AppendResultHead(nil, nil), `{"jsonrpc":"2.0","id":null,"result":`},
		{"result head, id as sent", AppendResultHead(nil, []byte(`"a\u0062"`)), `{"jsonrpc":"2.0","id":"a\u0062","result":`},
		{"result head, id of invalid UTF-8", AppendResultHead(nil, []byte("\"a\xffb\"")), "{\"jsonrpc\":\"2.0\",\"id\":\"a\ufffdb\",\"result\":"},
		{"error", AppendError(nil, []byte(`-1.5e3`), -32601, `no "x" <method> & U+2028`+"\u2028", nil),
			`{"jsonrpc":"2.0","id":-1.5e3,"error":{"code":-32601,"message":"no \"x\" <method> & U+2028\u2028"}}`},
		{"error with data", AppendError([]byte("["), nil, -32000, "m", map[string]any{"b": []int{1}, "a": "<"}),
			`[{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"m","data":{"a":"<","b":[1]}}}`},
		{"error with data that cannot be encoded", AppendError(nil, []byte(`1`), 2, "m", math.NaN()),
			`{"jsonrpc":"2.0","id":1,"error":{"code":2,"message":"m"}}`},
		{"error with a failing MarshalJSON", AppendError(nil, []byte(`1`), 2, "m", unencodable{}),
			`{"jsonrpc":"2.0","id":1,"error":{"code":2,"message":"m"}}`},
		{"notification head", append(AppendNotificationHead(nil, "ns_subscription", "0x01"), `{"a":"<"}}}`...),
			`{"jsonrpc":"2.0","method":"ns_subscription","params":{"subscription":"0x01","result":{"a":"<"}}}`},
		{"notification head, escaped", AppendNotificationHead(nil, "a\"b", "\xff"),
			`{"jsonrpc":"2.0","method":"a\"b","params":{"subscription":"\ufffd","result":`},
		{"lag notice", AppendLagNotice([]byte("x"), "ns_subscriptionLag", "0x01", 18446744073709551615, 0),
			`x{"jsonrpc":"2.0","method":"ns_subscriptionLag","params":{"subscription":"0x01","dropped":18446744073709551615}}`},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}

// The answers are what encoding/json makes of the same members (with HTML escaping off).
func TestAppendErrorMatchesEncodingJSON(t *testing.T) {
	for _, data := range []any{nil, "<&>", 1.5, []any{nil, true}, struct {
		X int `json:"x,omitempty"`
		Y string
	}{Y: "\u2028"}} {
		got := AppendError(nil, []byte(`"id"`), -32000, "a <message>\n", data)
		type errObj struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    any    `json:"data,omitempty"`
		}
		want, err := marshalNoHTML(struct {
			V   string `json:"jsonrpc"`
			ID  string `json:"id"`
			Err errObj `json:"error"`
		}{"2.0", "id", errObj{-32000, "a <message>\n", data}})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("AppendError with data %#v:\n got %s\nwant %s (%v)", data, got, want, err)
		}
	}
}

// fmtRequest shows r's members for a test failure.
func fmtRequest(r Request) string {
	return fmt.Sprintf("{Version:%q ID:%q Method:%q Params:%q IsResponse:%v}", r.Version, r.ID, r.Method, r.Params, r.IsResponse)
}
