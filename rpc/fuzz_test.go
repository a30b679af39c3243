package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// fzSvc is a small service for the server tests.
type fzSvc struct{}

func (fzSvc) Echo(s string) string                { return s }
func (fzSvc) Add(a, b int) int                    { return a + b }
func (fzSvc) Obj(m map[string]any) map[string]any { return m }
func (fzSvc) Raw(s string) json.RawMessage        { return json.RawMessage(s) }
func (fzSvc) Peer(ctx context.Context) string     { return PeerInfoFromContext(ctx).Transport }
func (fzSvc) Fail(code int, msg string) error {
	return &Error{Code: code, Message: msg, Data: []string{msg}}
}
func (fzSvc) Panic()                                { panic("fz") }
func (fzSvc) Opt(a int, b *string) (*string, error) { return b, nil }
func (fzSvc) Sleep(ms int, s string) string {
	time.Sleep(time.Duration(min(max(ms, 0), 100)) * time.Millisecond)
	return s
}

// fzNamed is the struct argument of fz_named, which therefore takes params by name.
type fzNamed struct {
	A int `json:"a"`
}

func (fzSvc) Named(p fzNamed) int { return p.A }

// fzRecorder is a MessageWriter that keeps copies of the messages written to it.
type fzRecorder struct{ msgs [][]byte }

func (r *fzRecorder) WriteMessage(msg []byte) error {
	r.msgs = append(r.msgs, append([]byte(nil), msg...))
	return nil
}

func fzNewServer(t testing.TB) *Server {
	srv := NewServer(&Options{
		BatchItemLimit:        4,
		BatchResponseMaxBytes: 300,
		MaxMethodNameLength:   32,
		Logger:                slog.New(slog.DiscardHandler),
	})
	if err := srv.Register("fz", fzSvc{}, WithParamNames("Add", "a", "b")); err != nil {
		t.Fatal(err)
	}
	return srv
}

// fzObject decodes a valid JSON object's members (the last of duplicates wins, as in the server).
func fzObject(b []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// fzIsNotification reports whether the valid JSON value b is a valid request without an id,
// which must get no answer. An empty method name is answered -32600 by design, so it does not
// count.
func fzIsNotification(b []byte) bool {
	m := fzObject(b)
	if m == nil {
		return false
	}
	var version, method string
	if _, ok := m["id"]; ok || json.Unmarshal(m["jsonrpc"], &version) != nil || version != "2.0" ||
		json.Unmarshal(m["method"], &method) != nil || method == "" {
		return false
	}
	p, ok := m["params"]
	return !ok || p[0] == '[' || p[0] == '{' || string(p) == "null"
}

// fzIsAnswer reports whether b is an object without a method and with a result or an error: an
// answer, which the server routes to its calls to the client or drops, and never answers.
func fzIsAnswer(b []byte) bool {
	m := fzObject(b)
	if m == nil {
		return false
	}
	_, method := m["method"]
	_, result := m["result"]
	_, err := m["error"]
	return !method && (result || err)
}

// fzCheckID checks that a response's id matches the request's (null for a missing or invalid id).
func fzCheckID(t *testing.T, req, resp json.RawMessage) {
	t.Helper()
	m := fzObject(req)
	id, ok := m["id"]
	if !ok || !(id[0] == '"' || id[0] == '-' || id[0] == 'n' || isDigit(id[0])) {
		id = json.RawMessage("null")
	}
	if id[0] == '"' { // a string id may be re-encoded (invalid UTF-8); its value must not change
		var a, b string
		if json.Unmarshal(id, &a) != nil || json.Unmarshal(resp, &b) != nil || a != b {
			t.Fatalf("response id %s for request id %s", resp, id)
		}
	} else if !bytes.Equal(id, resp) {
		t.Fatalf("response id %s for request id %s", resp, id)
	}
}

// fzCheckResponse checks one response object and returns its id.
func fzCheckResponse(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	m := fzObject(raw)
	if m == nil {
		t.Fatalf("response %s is not an object", raw)
	}
	id, hasID := m["id"]
	_, hasResult := m["result"]
	errObj, hasError := m["error"]
	if string(m["jsonrpc"]) != `"2.0"` || !hasID || hasResult == hasError {
		t.Fatalf("malformed response %s", raw)
	}
	if hasError {
		var e struct {
			Code    *int
			Message *string
		}
		if json.Unmarshal(errObj, &e) != nil || e.Code == nil || e.Message == nil {
			t.Fatalf("malformed error object in %s", raw)
		}
	}
	return id
}

func fzErrorCode(raw []byte) int {
	var r struct{ Error struct{ Code int } }
	json.Unmarshal(raw, &r)
	return r.Error.Code
}

var fzServerSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"fz_echo","params":["hi"]}`,
	`{"jsonrpc":"2.0","id":"x","method":"fz_add","params":{"a":1,"b":2}}`,
	`{"jsonrpc":"2.0","id":null,"method":"fz_add","params":[1,"2"]}`,
	`{"jsonrpc":"2.0","id":-1.5e3,"method":"fz_obj","params":[{"k":[1,null,"\u2028"]}]}`,
	`{"jsonrpc":"2.0","id":2,"method":"fz_raw","params":["{\"a\" : [1, 2]}"]}`,
	`{"jsonrpc":"2.0","id":3,"method":"fz_raw","params":["{bad"]}`,
	`{"jsonrpc":"2.0","id":4,"method":"fz_fail","params":[-32099,"no\u0000"]}`,
	`{"jsonrpc":"2.0","id":5,"method":"fz_panic"}`,
	`{"jsonrpc":"2.0","id":6,"method":"fz_opt","params":[1]}`,
	`{"jsonrpc":"2.0","id":7,"method":"fz_named","params":{"a":3}}`,
	`{"jsonrpc":"2.0","id":8,"method":"fz_peer","params":null}`,
	`{"jsonrpc":"2.0","id":9,"method":"rpc_modules","params":[]}`,
	`{"jsonrpc":"2.0","method":"fz_echo","params":["notification"]}`,
	`{"jsonrpc":"2.0","method":"nope_nope"}`,
	`{"jsonrpc":"2\u002e0","\u0069d":10,"method":"fz_\u0065cho","params":["\ud800"]}`,
	"{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"\xfe\"}",
	`{"id":11,"method":"fz_echo","params":["no version"]}`,
	`{"jsonrpc":2,"id":12,"method":"fz_echo"}`,
	`{"jsonrpc":"2.0","id":true,"method":"fz_echo"}`,
	`{"jsonrpc":"2.0","id":13,"method":""}`,
	`{"jsonrpc":"2.0","id":14,"method":1}`,
	`{"jsonrpc":"2.0","id":15,"method":"fz_echo","params":"x"}`,
	`{"jsonrpc":"2.0","id":16,"result":1}`,
	`{"jsonrpc":"2.0","method":"fz_echo","params":[1,2,3]}`,
	`{"jsonrpc":"2.0","id":17,"method":"fz_aVeryLongMethodNameThatIsOverTheLimit"}`,
	`[{"jsonrpc":"2.0","id":1,"method":"fz_echo","params":["a"]},{"jsonrpc":"2.0","method":"fz_echo","params":["b"]},1,{}]`,
	`[{"jsonrpc":"2.0","id":1,"method":"fz_echo","params":["` + string(bytes.Repeat([]byte("x"), 300)) + `"]},{"jsonrpc":"2.0","id":2,"method":"fz_add","params":[1,2]},{"jsonrpc":"2.0","method":"fz_add","params":[1,2]}]`,
	`[1,2,3,4,5]`, `[{"jsonrpc":"2.0","method":"fz_echo","params":["a"]}]`, `[]`, ` [ ] `, `[[]]`,
	`[{"jsonrpc":"2.0","id":1,"method":"fz_echo","params":["a"]}] x`,
	``, ` `, `{`, `[`, `{"jsonrpc":"2.0","id":1,"method":"fz_echo"`, `{} {}`, `1`, `"x"`, `null`,
	`nul`, `{"a":1,}`, "\xff", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"fz_echo\",\"params\":[\"\x01\"]}",
}

func FuzzServerMessage(f *testing.F) {
	for _, s := range fzServerSeeds {
		f.Add([]byte(s))
	}
	srv := fzNewServer(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		rec := &fzRecorder{}
		ss, err := srv.NewSession(context.Background(), ConnOptions{}, rec)
		if err != nil {
			t.Fatal(err)
		}
		defer ss.Close()
		if err := ss.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if len(rec.msgs) > 1 {
			t.Fatalf("%d messages written for one input: %q", len(rec.msgs), rec.msgs)
		}
		var items []json.RawMessage // the answered responses, in order
		for _, msg := range rec.msgs {
			if !utf8.Valid(msg) || !json.Valid(msg) || bytes.IndexByte(msg, '\n') != len(msg)-1 {
				t.Fatalf("bad message %q", msg)
			}
			switch msg[0] {
			case '{':
				items = append(items, msg[:len(msg)-1])
			case '[':
				if json.Unmarshal(msg, &items) != nil || len(items) == 0 {
					t.Fatalf("bad batch answer %q", msg)
				}
			default:
				t.Fatalf("message %q is neither an object nor an array", msg)
			}
		}
		ids := make([]json.RawMessage, len(items))
		for i, it := range items {
			ids[i] = fzCheckResponse(t, it)
		}

		// Which requests get an answer.
		v := bytes.TrimLeft(in, " \t\r\n")
		switch {
		case !json.Valid(in):
			if len(rec.msgs) != 1 || rec.msgs[0][0] != '{' || fzErrorCode(rec.msgs[0]) != CodeParseError || string(ids[0]) != "null" {
				t.Fatalf("invalid JSON answered %q, want one -32700", rec.msgs)
			}
		case v[0] == '{':
			if fzIsNotification(in) || fzIsAnswer(in) {
				if len(rec.msgs) != 0 {
					t.Fatalf("notification answered %q", rec.msgs)
				}
				return
			}
			if len(rec.msgs) != 1 || rec.msgs[0][0] != '{' {
				t.Fatalf("request answered %q, want one object", rec.msgs)
			}
			fzCheckID(t, in, ids[0])
		case v[0] == '[':
			var elems []json.RawMessage
			json.Unmarshal(in, &elems)
			if len(elems) == 0 || len(elems) > 4 { // empty (an object answers), or over BatchItemLimit (an array)
				if len(items) != 1 || (rec.msgs[0][0] == '{') != (len(elems) == 0) || fzErrorCode(items[0]) != CodeInvalidRequest {
					t.Fatalf("batch of %d answered %q, want one -32600", len(elems), rec.msgs)
				}
				return
			}
			var answered []json.RawMessage
			for _, e := range elems {
				if !fzIsNotification(e) && !fzIsAnswer(e) {
					answered = append(answered, e)
				}
			}
			if len(answered) != len(items) {
				t.Fatalf("batch answered %q, want %d answers", rec.msgs, len(answered))
			}
			for i, e := range answered {
				fzCheckID(t, e, ids[i])
			}
		default:
			if len(rec.msgs) != 1 || fzErrorCode(rec.msgs[0]) != CodeInvalidRequest {
				t.Fatalf("non-object answered %q, want one -32600", rec.msgs)
			}
		}
	})
}

// fzBareScalar reports whether the value v needs space before a following value of the same kind.
func fzBareScalar(v []byte) bool { return v[0] != '"' && v[0] != '{' && v[0] != '[' }

func FuzzStreamConn(f *testing.F) {
	f.Add([]byte("{\"a\":1}\x00[1, 2]\x00\"x\\\"]\"\x001\x00-2e5\x00true\x00null"), uint64(1), uint8(0))
	f.Add([]byte("{\"s\":\"}]\\\\\"}\x00[\"[\",{}]\x00\"\"\x00\"\\\\\"\x000"), uint64(7), uint8(0))
	f.Add([]byte("[\"0123456789\"]\x00{\"a\":1}\x0012345678901\x00\"long string\"\x00[1]"), uint64(3), uint8(10))
	f.Add([]byte("{ \"a\" :\n[ ] }\x00 [ ]\x00{}\x00{}"), uint64(42), uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, seed uint64, limit uint8) {
		// The values: the valid JSON pieces of raw (NUL cannot occur inside a JSON value).
		var vals [][]byte
		for _, p := range bytes.Split(raw, []byte{0}) {
			if p = bytes.Trim(p, " \t\r\n"); json.Valid(p) {
				vals = append(vals, p)
			}
		}
		rng := rand.New(rand.NewPCG(seed, seed>>1))
		var stream []byte
		for i, v := range vals {
			n := rng.IntN(4)
			if n == 0 && i > 0 && fzBareScalar(vals[i-1]) && fzBareScalar(v) {
				n = 1
			}
			for range n {
				stream = append(stream, " \t\r\n"[rng.IntN(4)])
			}
			stream = append(stream, v...)
		}
		if rng.IntN(2) == 0 {
			stream = append(stream, '\n')
		}
		chunks := make([]int, 1+rng.IntN(8))
		maxChunk := 1 + rng.IntN(64)
		for i := range chunks {
			chunks[i] = 1 + rng.IntN(maxChunk)
		}
		var want []string
		for _, v := range vals {
			if limit > 0 && len(v) > int(limit) {
				want = append(want, fzTooLarge)
			} else {
				want = append(want, string(v))
			}
		}
		conn := NewStreamConn(&fzChunkConn{data: stream, chunks: chunks}, int(limit))
		got, err := fzReadFrames(t, conn, len(vals)+2)
		if !errors.Is(err, io.EOF) || !slices.Equal(got, want) {
			t.Fatalf("stream %q in chunks %v, limit %d:\ngot  %q, %v\nwant %q, EOF", stream, chunks, limit, got, err, want)
		}
	})
}

// FuzzParseBatch holds parseBatch to its definition: for each element of a valid batch, the
// envelope wire.ParseRequest gives and its check (errAnswerItem for an answer), or errNotObject.
func FuzzParseBatch(f *testing.F) {
	for _, s := range fzServerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := bytes.TrimLeft(b, " \t\r\n")
		if len(v) == 0 || v[0] != '[' {
			return
		}
		items, err := parseBatch(b, nil)
		elems, werr := wire.SplitArray(b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("parseBatch(%q): %v; wire.SplitArray: %v", b, err, werr)
		}
		if err != nil {
			return
		}
		if len(items) != len(elems) {
			t.Fatalf("parseBatch(%q) = %d items, want %d", b, len(items), len(elems))
		}
		for i, e := range elems {
			want := batchItem{err: errNotObject}
			if e[0] == '{' {
				want.req, _ = wire.ParseRequest(e)
				if want.req.Method == nil && want.req.IsResponse {
					want.err = errAnswerItem
				} else {
					want.err = checkRequest(&want.req)
				}
			}
			if !reflect.DeepEqual(items[i], want) {
				t.Fatalf("parseBatch(%q)[%d] = %+v, want %+v", b, i, items[i], want)
			}
		}
	})
}
