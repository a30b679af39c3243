package bench

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/ipc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// The interop tests put each library's client against the other's servers, over the three
// network transports, with polyrpc's reference service (internal/testservice, as rpctest.Service)
// on both sides: go-ethereum registers the same *rpctest.Service as namespace "test", so both
// servers answer the same methods with the same Go code.

// socketPath returns a fresh unix socket path short enough for sockaddr_un (t.TempDir's paths
// carry the test name and can pass the 107-byte limit).
func socketPath(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "prb")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s.ipc")
}

// wsURL turns an httptest server's http:// URL into its ws:// URL.
func wsURL(httpURL string) string { return "ws" + strings.TrimPrefix(httpURL, "http") }

// polyEndpoint starts srv on one transport and returns the endpoint to dial.
type polyEndpoint struct {
	name  string
	start func(tb testing.TB, srv *rpc.Server) string
}

var polyEndpoints = []polyEndpoint{
	{"http", func(tb testing.TB, srv *rpc.Server) string {
		ts := httptest.NewServer(httprpc.NewHandler(srv, nil))
		tb.Cleanup(ts.Close)
		return ts.URL
	}},
	{"ws", func(tb testing.TB, srv *rpc.Server) string {
		ts := httptest.NewServer(wsrpc.NewHandler(srv, nil))
		tb.Cleanup(ts.Close)
		return wsURL(ts.URL)
	}},
	{"ipc", func(tb testing.TB, srv *rpc.Server) string {
		ep, err := ipc.Serve(srv, socketPath(tb), nil)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { ep.Close() })
		return ep.Path()
	}},
}

// gethEndpoint starts a go-ethereum server with the reference service on one transport and
// returns the endpoint to dial.
type gethEndpoint struct {
	name  string
	start func(tb testing.TB) string
}

func newGethRefServer(tb testing.TB) *gethrpc.Server {
	srv := gethrpc.NewServer()
	if err := srv.RegisterName("test", &rpctest.Service{}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Stop)
	return srv
}

var gethEndpoints = []gethEndpoint{
	{"http", func(tb testing.TB) string {
		ts := httptest.NewServer(newGethRefServer(tb)) // Server.ServeHTTP
		tb.Cleanup(ts.Close)
		return ts.URL
	}},
	{"ws", func(tb testing.TB) string {
		ts := httptest.NewServer(newGethRefServer(tb).WebsocketHandler([]string{"*"}))
		tb.Cleanup(ts.Close)
		return wsURL(ts.URL)
	}},
	{"ipc", func(tb testing.TB) string {
		path := socketPath(tb)
		ln, srv, err := gethrpc.StartIPCEndpoint(path, []gethrpc.API{{Namespace: "test", Service: &rpctest.Service{}}})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			ln.Close()
			srv.Stop()
		})
		return path
	}},
}

func interopCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// TestGethClientPolyServer drives polyrpc's servers with go-ethereum's rpc.Client.
func TestGethClientPolyServer(t *testing.T) {
	for _, ep := range polyEndpoints {
		t.Run(ep.name, func(t *testing.T) {
			ctx := interopCtx(t)
			srv := rpctest.NewServer(t, nil)
			c, err := gethrpc.DialContext(ctx, ep.start(t, srv))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)

			t.Run("calls", func(t *testing.T) {
				checkCalls(t, func(result any, method string, args ...any) error {
					return c.CallContext(ctx, result, method, args...)
				})
			})
			t.Run("batch", func(t *testing.T) {
				elems, checks := mixedBatch()
				gelems := make([]gethrpc.BatchElem, len(elems))
				for i, e := range elems {
					gelems[i] = gethrpc.BatchElem{Method: e.method, Args: e.args, Result: e.result}
				}
				if err := c.BatchCallContext(ctx, gelems); err != nil {
					t.Fatal(err)
				}
				for i, e := range gelems {
					checks[i](t, e.Error)
				}
			})
			t.Run("errors", func(t *testing.T) {
				checkErrors(t, func(method string, args ...any) error {
					var res any
					return c.CallContext(ctx, &res, method, args...)
				})
			})
			t.Run("null-param", func(t *testing.T) {
				// polyrpc gives a null param to an argument of type any as nil; go-ethereum's
				// server refuses it ("missing value for required argument 0"), so this is
				// checked against polyrpc only.
				var s *string
				if err := c.CallContext(ctx, &s, "test_echoAny", nil); err != nil || s != nil {
					t.Errorf("test_echoAny(null) = %v, %v; want nil, nil", s, err)
				}
			})
			t.Run("notify", func(t *testing.T) {
				// go-ethereum's client reads an answer to a notification sent over HTTP, and
				// an HTTP notification has none (an empty 200, from go-ethereum's server as
				// from polyrpc's), so its Notify returns io.EOF there after the server has
				// run the method. Over WebSocket and IPC it returns nil.
				err := c.Notify(ctx, "test_incr")
				if err != nil && !(ep.name == "http" && errors.Is(err, io.EOF)) {
					t.Fatal(err)
				}
				waitCount(t, func(n *int64) error { return c.CallContext(ctx, n, "test_count") })
			})
		})
	}
}

// TestPolyClientGethServer drives go-ethereum's servers with polyrpc's transports.Dial client.
func TestPolyClientGethServer(t *testing.T) {
	for _, ep := range gethEndpoints {
		t.Run(ep.name, func(t *testing.T) {
			ctx := interopCtx(t)
			c, err := transports.Dial(ctx, ep.start(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })

			t.Run("calls", func(t *testing.T) {
				checkCalls(t, func(result any, method string, args ...any) error {
					return c.Call(ctx, result, method, args...)
				})
			})
			t.Run("batch", func(t *testing.T) {
				elems, checks := mixedBatch()
				pelems := make([]rpc.BatchElem, len(elems))
				for i, e := range elems {
					pelems[i] = rpc.BatchElem{Method: e.method, Args: e.args, Result: e.result}
				}
				if err := c.BatchCall(ctx, pelems); err != nil {
					t.Fatal(err)
				}
				for i, e := range pelems {
					checks[i](t, e.Error)
				}
			})
			t.Run("errors", func(t *testing.T) {
				checkErrors(t, func(method string, args ...any) error {
					var res any
					return c.Call(ctx, &res, method, args...)
				})
				// polyrpc's client returns *rpc.Error, whose Data is the raw JSON of data.
				var res any
				err := c.Call(ctx, &res, "test_failCoded")
				var re *rpc.Error
				if !errors.As(err, &re) {
					t.Fatalf("test_failCoded: error %T %v, want *rpc.Error", err, err)
				}
				if raw, ok := re.Data.(json.RawMessage); !ok || string(raw) != `{"why":"testing"}` {
					t.Errorf("test_failCoded: Data %T %s, want json.RawMessage {\"why\":\"testing\"}", re.Data, re.Data)
				}
			})
			t.Run("notify", func(t *testing.T) {
				if err := c.Notify(ctx, "test_incr"); err != nil {
					t.Fatal(err)
				}
				waitCount(t, func(n *int64) error { return c.Call(ctx, n, "test_count") })
			})
		})
	}
}

// checkCalls makes calls whose results have several types, through call (either client).
func checkCalls(t *testing.T, call func(result any, method string, args ...any) error) {
	t.Helper()
	type tc struct {
		method string
		args   []any
		result any // a pointer to a zero value of the result's type
		want   any // what *result must equal
	}
	email := "a@b.c"
	cases := []tc{
		{"test_add", []any{40, 2}, new(int), 42},
		{"test_repeat", []any{"ab", 3}, new(string), "ababab"},
		{"test_echo", []any{"hello", 7, &rpctest.EchoArgs{S: "x"}}, new(rpctest.EchoResult),
			rpctest.EchoResult{String: "hello", Int: 7, Args: &rpctest.EchoArgs{S: "x"}}},
		{"test_echo", []any{"no-args", 8}, new(rpctest.EchoResult), rpctest.EchoResult{String: "no-args", Int: 8}},
		{"test_echoWithCtx", []any{"ctx", 9}, new(rpctest.EchoResult), rpctest.EchoResult{String: "ctx", Int: 9}},
		{"test_echoPerson", []any{rpctest.Person{Name: "Ann", Age: 30, Email: &email}}, new(rpctest.Person),
			rpctest.Person{Name: "Ann", Age: 30, Email: &email}},
		{"test_echoAny", []any{map[string]any{"a": []any{1.5, "x", true, nil}, "b": map[string]any{}}},
			new(map[string]any), map[string]any{"a": []any{1.5, "x", true, nil}, "b": map[string]any{}}},
		{"test_echoAny", []any{[]int{1, 2, 3}}, new([]int), []int{1, 2, 3}},
		{"test_echoAny", []any{true}, new(bool), true},
		{"test_echoAny", []any{12.25}, new(float64), 12.25},
		{"test_echoAny", []any{"ünïcode ✓ \u2028"}, new(string), "ünïcode ✓ \u2028"},
		{"test_echoAny", []any{"big"}, new(json.RawMessage), json.RawMessage(`"big"`)},
		{"test_noArgsRets", nil, new(any), nil},
		{"test_iD", nil, new(string), "id"},
	}
	for _, c := range cases {
		if err := call(c.result, c.method, c.args...); err != nil {
			t.Errorf("%s%v: %v", c.method, c.args, err)
			continue
		}
		if got := reflect.ValueOf(c.result).Elem().Interface(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s%v = %#v, want %#v", c.method, c.args, got, c.want)
		}
	}
}

// batchItem is one element of mixedBatch, for either client's BatchElem.
type batchItem struct {
	method string
	args   []any
	result any
}

// mixedBatch returns a batch mixing successes and errors, and for each element a check of its
// outcome given the element's error after the call.
func mixedBatch() ([]batchItem, []func(*testing.T, error)) {
	sum, rep := new(int), new(string)
	echo := new(rpctest.EchoResult)
	var failed any
	items := []batchItem{
		{"test_add", []any{1, 2}, sum},
		{"test_failCoded", nil, &failed},
		{"test_nope", nil, new(any)},
		{"test_repeat", []any{"z", 4}, rep},
		{"test_add", []any{"not a number", 1}, new(int)},
		{"test_echo", []any{"e", 5}, echo},
		{"test_fail", nil, new(any)},
	}
	ok := func(check func() bool, what string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			t.Helper()
			if err != nil {
				t.Errorf("%s: %v", what, err)
			} else if !check() {
				t.Errorf("%s: wrong result", what)
			}
		}
	}
	coded := func(code int, what string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			t.Helper()
			var ce gethrpc.Error // the same interface as rpc.CodedError
			if !errors.As(err, &ce) || ce.ErrorCode() != code {
				t.Errorf("%s: error %v, want code %d", what, err, code)
			}
		}
	}
	checks := []func(*testing.T, error){
		ok(func() bool { return *sum == 3 }, "test_add(1,2)"),
		func(t *testing.T, err error) { checkFailCoded(t, err) },
		coded(-32601, "test_nope"),
		ok(func() bool { return *rep == "zzzz" }, `test_repeat("z",4)`),
		coded(-32602, "test_add(string)"),
		ok(func() bool { return *echo == rpctest.EchoResult{String: "e", Int: 5} }, `test_echo("e",5)`),
		coded(-32000, "test_fail"),
	}
	return items, checks
}

// checkErrors checks the error answers: coded with data, plain, unknown method, bad params.
func checkErrors(t *testing.T, call func(method string, args ...any) error) {
	t.Helper()
	checkFailCoded(t, call("test_failCoded"))
	for _, c := range []struct {
		method string
		args   []any
		code   int
		msg    string // a part of the message
	}{
		{"test_fail", nil, -32000, "plain failure"},
		{"test_doesNotExist", nil, -32601, "test_doesNotExist"},
		{"nonamespace", nil, -32601, "nonamespace"},
		{"test_add", []any{"x", 1}, -32602, ""},
		{"test_panic", nil, -32603, ""},
	} {
		err := call(c.method, c.args...)
		var ge gethrpc.Error
		var pe rpc.CodedError
		switch {
		case !errors.As(err, &ge):
			t.Errorf("%s: error %T %v does not implement go-ethereum's rpc.Error", c.method, err, err)
		case ge.ErrorCode() != c.code:
			t.Errorf("%s: code %d (%v), want %d", c.method, ge.ErrorCode(), err, c.code)
		case !strings.Contains(err.Error(), c.msg):
			t.Errorf("%s: message %q does not contain %q", c.method, err.Error(), c.msg)
		case !errors.As(err, &pe) || pe.ErrorCode() != c.code:
			t.Errorf("%s: error does not implement polyrpc's rpc.CodedError with code %d", c.method, c.code)
		}
		var de gethrpc.DataError
		if errors.As(err, &de) && de.ErrorData() != nil {
			t.Errorf("%s: unexpected data %v", c.method, de.ErrorData())
		}
	}
}

// checkFailCoded checks test_failCoded's answer: code -32042, message "coded failure", data
// {"why":"testing"}, seen through go-ethereum's rpc.Error and rpc.DataError interfaces (which
// polyrpc's rpc.CodedError and rpc.DataError mirror). go-ethereum's client gives data decoded
// into an any (a map), polyrpc's the raw JSON; both are compared as JSON.
func checkFailCoded(t *testing.T, err error) {
	t.Helper()
	var ce gethrpc.Error
	if !errors.As(err, &ce) {
		t.Fatalf("test_failCoded: error %T %v does not implement rpc.Error", err, err)
	}
	if ce.ErrorCode() != -32042 || ce.Error() != "coded failure" {
		t.Errorf("test_failCoded: code %d message %q, want -32042 \"coded failure\"", ce.ErrorCode(), ce.Error())
	}
	var de gethrpc.DataError
	if !errors.As(err, &de) {
		t.Fatalf("test_failCoded: error %T does not implement rpc.DataError", err)
	}
	var pde rpc.DataError
	if !errors.As(err, &pde) {
		t.Errorf("test_failCoded: error %T does not implement polyrpc's rpc.DataError", err)
	}
	data := de.ErrorData()
	var raw []byte
	if r, ok := data.(json.RawMessage); ok {
		raw = r
	} else if raw, err = json.Marshal(data); err != nil {
		t.Fatalf("test_failCoded: data %#v: %v", data, err)
	}
	var got map[string]string
	if err := json.Unmarshal(raw, &got); err != nil || len(got) != 1 || got["why"] != "testing" {
		t.Errorf("test_failCoded: data %s, want {\"why\":\"testing\"}", raw)
	}
}

// waitCount polls test_count until one notification has run: over WebSocket and IPC a
// notification's call runs after Notify has returned.
func waitCount(t *testing.T, count func(*int64) error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		if err := count(&n); err != nil {
			t.Fatal(err)
		}
		switch {
		case n == 1:
			return
		case n > 1:
			t.Fatalf("test_count = %d after one notification", n)
		case time.Now().After(deadline):
			t.Fatal("the notification never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
