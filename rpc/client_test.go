package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// ctEnv is a client connected to a fresh reference server (rpctest.NewServer).
type ctEnv struct {
	srv    *rpc.Server
	client *rpc.Client
	peer   string // the transport name test_peer answers
	// closeServerSide closes the server's end of the connection (stream only).
	closeServerSide func()
}

type ctTransport struct {
	name   string
	stream bool
	dial   func(t *testing.T, opts *rpc.Options) *ctEnv
}

var ctTransports = []ctTransport{
	{"inproc", false, ctDialInproc},
	{"stream", true, ctDialStream},
}

func ctDialInproc(t *testing.T, opts *rpc.Options) *ctEnv {
	srv := rpctest.NewServer(t, opts)
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &ctEnv{srv: srv, client: c, peer: rpc.TransportInProc}
}

// ctDialStream serves one end of a net.Pipe with ServeStream and runs a client on the other.
func ctDialStream(t *testing.T, opts *rpc.Options) *ctEnv {
	srv := rpctest.NewServer(t, opts)
	cEnd, sEnd := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeStream(sEnd, rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: rpc.TransportIPC}})
	}()
	c := rpc.NewClient(rpc.NewStreamConn(cEnd, 0))
	t.Cleanup(func() {
		c.Close()
		srv.Stop() // cancels calls still running, so that ServeStream returns
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("ServeStream did not return after the client closed")
		}
	})
	return &ctEnv{srv: srv, client: c, peer: rpc.TransportIPC, closeServerSide: func() { sEnd.Close() }}
}

// ctNew returns a pointer to a new zero value of the type of v.
func ctNew(v any) any { return reflect.New(reflect.TypeOf(v)).Interface() }

// ctElem returns what p points to.
func ctElem(p any) any { return reflect.ValueOf(p).Elem().Interface() }

func ctStr(s string) *string { return &s }

// TestClient runs every case on a fresh server over each transport.
func TestClient(t *testing.T) {
	cases := []struct {
		name   string
		opts   *rpc.Options
		stream bool // only over the stream transport
		run    func(t *testing.T, e *ctEnv)
	}{
		{"CallResults", nil, false, ctCallResults},
		{"CallNamed", nil, false, ctCallNamed},
		{"CallErrors", nil, false, ctCallErrors},
		{"CallClientSideErrors", nil, false, ctCallClientSideErrors},
		{"NilResultDiscards", nil, false, ctNilResult},
		{"BatchMixed", nil, false, ctBatchMixed},
		{"BatchItemLimit", &rpc.Options{BatchItemLimit: 2}, false, ctBatchItemLimit},
		{"BatchEmpty", nil, false, ctBatchEmpty},
		{"Notify", nil, false, ctNotify},
		{"Concurrent", nil, false, ctConcurrent},
		{"ContextTimeout", nil, false, ctContextTimeout},
		{"Close", nil, false, ctClose},
		{"ServerClosesConnection", nil, true, ctServerCloses},
		{"ServerStops", nil, false, ctServerStops},
		{"MessageTooLarge", &rpc.Options{MaxMessageBytes: 1024}, true, ctMessageTooLarge},
	}
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			for _, tc := range cases {
				if tc.stream && !tr.stream {
					continue
				}
				t.Run(tc.name, func(t *testing.T) { tc.run(t, tr.dial(t, tc.opts)) })
			}
		})
	}
}

func ctCallResults(t *testing.T, e *ctEnv) {
	tests := []struct {
		method string
		args   []any
		want   any // the result is decoded into a new value of this type
	}{
		{"test_add", []any{1, 2}, 3},
		{"test_add", []any{int64(-5), uint64(2)}, int64(-3)},
		{"test_add", []any{1 << 40, 1}, uint64(1<<40 + 1)},
		{"test_add", []any{1, 2}, json.RawMessage(`3`)},
		{"test_repeat", []any{"ab", 3}, "ababab"},
		{"test_echoAny", []any{"<&>\"\\\n\u2028é"}, "<&>\"\\\n\u2028é"},
		{"test_echoAny", []any{1.5}, 1.5},
		{"test_echoAny", []any{true}, true},
		{"test_echoAny", []any{[]int{1, 2, 3}}, []int{1, 2, 3}},
		{"test_echoAny", []any{map[string]any{"k": []any{1, true, nil, "s"}}}, map[string]any{"k": []any{1.0, true, nil, "s"}}},
		{"test_echoAny", []any{nil}, any(nil)},
		{"test_echo", []any{"x", 7, &rpctest.EchoArgs{S: "y"}}, rpctest.EchoResult{String: "x", Int: 7, Args: &rpctest.EchoArgs{S: "y"}}},
		{"test_echo", []any{"x", 7}, rpctest.EchoResult{String: "x", Int: 7}}, // optional trailing pointer argument
		{"test_echo", []any{"x", 7}, &rpctest.EchoResult{String: "x", Int: 7}},
		{"test_echoWithCtx", []any{"c", -1, nil}, rpctest.EchoResult{String: "c", Int: -1}},
		{"test_echoPerson", []any{rpctest.Person{Name: "ann", Email: ctStr("a@b")}}, rpctest.Person{Name: "ann", Email: ctStr("a@b")}},
		{"test_noArgsRets", nil, json.RawMessage(`null`)},
		{"test_iD", nil, "id"},
		{"test_peer", nil, e.peer},
		{"get_data", nil, []any{"hello", 5.0}},
		{"rpc_modules", nil, map[string]string{"test": "1.0", "notify": "1.0", "get": "1.0", "nftest": "1.0", "rpc": "1.0"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s%v→%T", tt.method, tt.args, tt.want), func(t *testing.T) {
			var res any
			if tt.want == nil {
				res = new(any)
				*(res.(*any)) = "not overwritten"
			} else {
				res = ctNew(tt.want)
			}
			if err := e.client.Call(ctCtx(t), res, tt.method, tt.args...); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := ctElem(res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func ctCallNamed(t *testing.T, e *ctEnv) {
	type subtractParams struct {
		Minuend    int `json:"minuend"`
		Subtrahend int `json:"subtrahend"`
	}
	tests := []struct {
		name     string
		method   string
		params   any
		want     any
		wantCode int
		wantMsg  string
	}{
		{"map", "test_add", map[string]any{"a": 40, "b": 2}, 42, 0, ""},
		{"map, reversed order", "test_subtract", map[string]int{"subtrahend": 23, "minuend": 42}, 19, 0, ""},
		{"struct", "test_subtract", subtractParams{Minuend: 42, Subtrahend: 23}, 19, 0, ""},
		{"pointer to struct", "test_subtract", &subtractParams{Minuend: 23, Subtrahend: 42}, -19, 0, ""},
		{"optional name left out", "test_echo", map[string]any{"str": "s", "int": 1}, rpctest.EchoResult{String: "s", Int: 1}, 0, ""},
		{"all names", "test_echo", map[string]any{"str": "s", "int": 1, "args": map[string]string{"S": "z"}}, rpctest.EchoResult{String: "s", Int: 1, Args: &rpctest.EchoArgs{S: "z"}}, 0, ""},
		{"single struct argument, struct", "test_echoPerson", rpctest.Person{Name: "bob", Age: 3}, rpctest.Person{Name: "bob", Age: 3}, 0, ""},
		{"single struct argument, map", "test_echoPerson", map[string]any{"name": "cy", "email": "c@d"}, rpctest.Person{Name: "cy", Email: ctStr("c@d")}, 0, ""},
		{"empty object, no arguments", "test_noArgsRets", map[string]int{}, json.RawMessage(`null`), 0, ""},
		{"unknown name", "test_add", map[string]int{"a": 1, "c": 2}, 0, rpc.CodeInvalidParams, `unknown argument "c"`},
		{"missing name", "test_add", map[string]int{"a": 1}, 0, rpc.CodeInvalidParams, `missing value for required argument "b"`},
		{"wrong type", "test_add", map[string]any{"a": 1, "b": "2"}, 0, rpc.CodeInvalidParams, `invalid argument "b"`},
		{"names unknown to the server", "test_sum", map[string]int{"a": 1, "b": 2, "c": 3}, 0, rpc.CodeInvalidParams, "pass params as an array"},
		{"struct missing a required member", "test_echoPerson", map[string]any{"age": 3}, rpctest.Person{}, rpc.CodeInvalidParams, `missing value for required argument "name"`},
		{"arguments to a method without any", "test_noArgsRets", map[string]int{"x": 1}, 0, rpc.CodeInvalidParams, `unknown argument "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ctNew(tt.want)
			err := e.client.CallNamed(ctCtx(t), res, tt.method, tt.params)
			if tt.wantCode != 0 {
				re := ctRPCError(t, err)
				if re.Code != tt.wantCode || !strings.Contains(re.Message, tt.wantMsg) {
					t.Errorf("got error %d %q, want %d containing %q", re.Code, re.Message, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := ctElem(res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func ctCallErrors(t *testing.T, e *ctEnv) {
	tests := []struct {
		method   string
		args     []any
		wantCode int
		wantMsg  string // substring
		wantData string // JSON, or "" for no data
	}{
		{"test_failCoded", nil, -32042, "coded failure", `{"why":"testing"}`},
		{"test_fail", nil, rpc.CodeServerError, "plain failure", ""},
		{"test_nope", nil, rpc.CodeMethodNotFound, "the method test_nope does not exist", ""},
		{"nons_add", []any{1, 2}, rpc.CodeMethodNotFound, "does not exist", ""},
		{"test_add", []any{"x", 1}, rpc.CodeInvalidParams, "invalid argument 0", ""},
		{"test_add", []any{1, 2, 3}, rpc.CodeInvalidParams, "too many arguments", ""},
		{"test_add", []any{1}, rpc.CodeInvalidParams, `missing value for required argument 1 ("b")`, ""},
		{"test_panic", nil, rpc.CodeInternalError, "method handler crashed", ""},
		{"test_marshalFail", nil, rpc.CodeInternalError, "cannot encode BadJSON", ""},
		{"", nil, rpc.CodeInvalidRequest, `"method" is empty`, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s%v", tt.method, tt.args), func(t *testing.T) {
			var res json.RawMessage
			err := e.client.Call(ctCtx(t), &res, tt.method, tt.args...)
			re := ctRPCError(t, err)
			if re.Code != tt.wantCode || !strings.Contains(re.Message, tt.wantMsg) {
				t.Errorf("got error %d %q, want %d containing %q", re.Code, re.Message, tt.wantCode, tt.wantMsg)
			}
			if re.ErrorCode() != re.Code {
				t.Errorf("ErrorCode() = %d, Code = %d", re.ErrorCode(), re.Code)
			}
			if tt.wantData == "" {
				if re.Data != nil {
					t.Errorf("Data = %#v, want nil", re.Data)
				}
			} else {
				raw, ok := re.Data.(json.RawMessage)
				if !ok {
					t.Fatalf("Data is %T, want json.RawMessage", re.Data)
				}
				if !ctJSONEqual(t, raw, []byte(tt.wantData)) {
					t.Errorf("Data = %s, want %s", raw, tt.wantData)
				}
			}
			if res != nil {
				t.Errorf("an error answer wrote the result: %s", res)
			}
		})
	}
	// The connection is still usable after the error answers.
	var sum int
	if err := e.client.Call(ctCtx(t), &sum, "test_add", 2, 2); err != nil || sum != 4 {
		t.Errorf("test_add after errors = %d, %v", sum, err)
	}
}

// ctCallClientSideErrors covers failures that happen in the client: arguments it cannot encode
// and results it cannot decode.
func ctCallClientSideErrors(t *testing.T, e *ctEnv) {
	ctx := ctCtx(t)
	t.Run("result of the wrong type", func(t *testing.T) {
		var n int
		err := e.client.Call(ctx, &n, "test_repeat", "ab", 2)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Errorf("err = %v (%T), want a *json.UnmarshalTypeError", err, err)
		}
		var re *rpc.Error
		if errors.As(err, &re) {
			t.Errorf("a client-side decode failure came back as *rpc.Error %v", re)
		}
	})
	t.Run("unencodable argument", func(t *testing.T) {
		err := e.client.Call(ctx, nil, "test_echoAny", make(chan int))
		var re *rpc.Error
		if err == nil || errors.As(err, &re) {
			t.Errorf("err = %v (%T), want a client-side encoding error", err, err)
		}
	})
	t.Run("named params that are not an object", func(t *testing.T) {
		for _, params := range []any{[]int{1, 2}, 5, "s", json.RawMessage(`[1]`)} {
			err := e.client.CallNamed(ctx, nil, "test_add", params)
			var re *rpc.Error
			if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "JSON object") {
				t.Errorf("CallNamed(%#v) = %v, want a client-side error about a JSON object", params, err)
			}
		}
	})
	t.Run("still usable", func(t *testing.T) {
		var s string
		if err := e.client.Call(ctx, &s, "test_repeat", "z", 2); err != nil || s != "zz" {
			t.Errorf("test_repeat = %q, %v", s, err)
		}
	})
}

func ctNilResult(t *testing.T, e *ctEnv) {
	ctx := ctCtx(t)
	for _, m := range []struct {
		method string
		args   []any
	}{
		{"test_echo", []any{"x", 1}},
		{"get_data", nil},
		{"test_noArgsRets", nil},
		{"test_marshalFail", nil}, // its error is still reported; see below
	} {
		err := e.client.Call(ctx, nil, m.method, m.args...)
		if m.method == "test_marshalFail" {
			if re := ctRPCError(t, err); re.Code != rpc.CodeInternalError {
				t.Errorf("%s with a nil result: %v, want -32603", m.method, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s with a nil result: %v", m.method, err)
		}
	}
	if err := e.client.Call(ctx, nil, "test_failCoded"); ctRPCError(t, err).Code != -32042 {
		t.Errorf("test_failCoded with a nil result: %v", err)
	}
}

func ctBatchMixed(t *testing.T, e *ctEnv) {
	var (
		sum    int
		person rpctest.Person
		wrong  int
		data   []any
	)
	elems := []rpc.BatchElem{
		{Method: "test_add", Args: []any{1, 2}, Result: &sum},
		{Method: "test_failCoded", Result: new(int)},
		{Method: "test_nope"},
		{Method: "test_echoPerson", Params: map[string]string{"name": "c"}, Result: &person},
		{Method: "test_repeat", Args: []any{"a", 2}, Result: &wrong},
		{Method: "test_noArgsRets"},
		{Method: "test_add", Args: []any{"x"}},
		{Method: "get_data", Result: &data},
	}
	elems[0].Error = errors.New("stale") // BatchCall resets it
	if err := e.client.BatchCall(ctCtx(t), elems); err != nil {
		t.Fatalf("BatchCall = %v", err)
	}
	if elems[0].Error != nil || sum != 3 {
		t.Errorf("elem 0 (test_add): %d, %v", sum, elems[0].Error)
	}
	checkCode := func(i, code int) {
		t.Helper()
		var re *rpc.Error
		if !errors.As(elems[i].Error, &re) || re.Code != code {
			t.Errorf("elem %d (%s): error %v, want *rpc.Error %d", i, elems[i].Method, elems[i].Error, code)
		}
	}
	checkCode(1, -32042)
	if re, ok := elems[1].Error.(*rpc.Error); ok {
		if raw, _ := re.Data.(json.RawMessage); !ctJSONEqual(t, raw, []byte(`{"why":"testing"}`)) {
			t.Errorf("elem 1 data = %#v", re.Data)
		}
	}
	checkCode(2, rpc.CodeMethodNotFound)
	if elems[3].Error != nil || !reflect.DeepEqual(person, rpctest.Person{Name: "c"}) {
		t.Errorf("elem 3 (test_echoPerson by name): %+v, %v", person, elems[3].Error)
	}
	var te *json.UnmarshalTypeError
	if !errors.As(elems[4].Error, &te) {
		t.Errorf("elem 4 (string into *int): error %v (%T), want *json.UnmarshalTypeError", elems[4].Error, elems[4].Error)
	}
	if elems[5].Error != nil {
		t.Errorf("elem 5 (test_noArgsRets, nil Result): %v", elems[5].Error)
	}
	checkCode(6, rpc.CodeInvalidParams)
	if elems[7].Error != nil || !reflect.DeepEqual(data, []any{"hello", 5.0}) {
		t.Errorf("elem 7 (get_data): %#v, %v", data, elems[7].Error)
	}

	// A batch whose element cannot be encoded is not sent.
	bad := []rpc.BatchElem{{Method: "test_incr"}, {Method: "test_echoAny", Args: []any{func() {}}}}
	if err := e.client.BatchCall(ctCtx(t), bad); err == nil || !strings.Contains(err.Error(), "batch element 1") {
		t.Errorf("BatchCall with an unencodable element = %v", err)
	}
	var n int
	if err := e.client.Call(ctCtx(t), &n, "test_count"); err != nil || n != 0 {
		t.Errorf("test_count = %d, %v; want 0: the unencodable batch must not be sent", n, err)
	}
}

func ctBatchItemLimit(t *testing.T, e *ctEnv) {
	ctx := ctCtx(t)
	// At the limit: answered normally.
	var a, b int
	ok := []rpc.BatchElem{
		{Method: "test_add", Args: []any{1, 1}, Result: &a},
		{Method: "test_add", Args: []any{2, 2}, Result: &b},
	}
	if err := e.client.BatchCall(ctx, ok); err != nil || ok[0].Error != nil || ok[1].Error != nil || a != 2 || b != 4 {
		t.Fatalf("batch of 2 with limit 2: err %v, elems %v %v, results %d %d", err, ok[0].Error, ok[1].Error, a, b)
	}

	// Over the limit: the server answers one -32600 "batch too large" (carrying the first id), and
	// the client gives the other elements ErrMissingBatchResponse. None of the calls run.
	results := make([]int, 3)
	over := []rpc.BatchElem{
		{Method: "test_incr", Result: &results[0]},
		{Method: "test_incr", Result: &results[1]},
		{Method: "test_incr", Result: &results[2]},
	}
	if err := e.client.BatchCall(ctx, over); err != nil {
		t.Fatalf("BatchCall over the limit = %v, want nil (the outcome is per element)", err)
	}
	re := ctRPCError(t, over[0].Error)
	if re.Code != rpc.CodeInvalidRequest || !strings.Contains(re.Message, "batch too large") {
		t.Errorf("elem 0: %d %q, want -32600 batch too large", re.Code, re.Message)
	}
	for i, el := range over[1:] {
		if !errors.Is(el.Error, rpc.ErrMissingBatchResponse) {
			t.Errorf("elem %d: %v, want ErrMissingBatchResponse", i+1, el.Error)
		}
	}
	var n int
	if err := e.client.Call(ctx, &n, "test_count"); err != nil || n != 0 {
		t.Errorf("test_count = %d, %v; want 0: no call of a batch over the limit runs", n, err)
	}
}

func ctBatchEmpty(t *testing.T, e *ctEnv) {
	for _, elems := range [][]rpc.BatchElem{nil, {}} {
		if err := e.client.BatchCall(ctCtx(t), elems); err == nil {
			t.Errorf("BatchCall(%#v) succeeded", elems)
		}
	}
	var s string
	if err := e.client.Call(ctCtx(t), &s, "test_iD"); err != nil || s != "id" {
		t.Errorf("call after empty batches: %q, %v", s, err)
	}
}

// ctWaitCount polls test_count until it is want, for at most 2 seconds.
func ctWaitCount(t *testing.T, c *rpc.Client, want int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	var n int64
	for {
		if err := c.Call(ctCtx(t), &n, "test_count"); err != nil {
			t.Fatalf("test_count: %v", err)
		}
		if n == want {
			return
		}
		if n > want || time.Now().After(deadline) {
			t.Fatalf("test_count = %d, want %d", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctNotify(t *testing.T, e *ctEnv) {
	ctx := ctCtx(t)
	for i := range 3 {
		if err := e.client.Notify(ctx, "test_incr"); err != nil {
			t.Fatalf("Notify %d: %v", i, err)
		}
	}
	ctWaitCount(t, e.client, 3)

	// Notifications that fail are not answered, and the client is not confused by them.
	for _, m := range []string{"test_fail", "test_nope", "test_panic"} {
		if err := e.client.Notify(ctx, m); err != nil {
			t.Errorf("Notify(%s) = %v", m, err)
		}
	}
	if err := e.client.Notify(ctx, "test_add", "x", "y"); err != nil {
		t.Errorf("Notify with bad params = %v", err)
	}
	var sum int
	if err := e.client.Call(ctx, &sum, "test_add", 20, 22); err != nil || sum != 42 {
		t.Errorf("call after failing notifications: %d, %v", sum, err)
	}
	if err := e.client.Notify(ctx, "test_incr"); err != nil {
		t.Fatal(err)
	}
	ctWaitCount(t, e.client, 4)

	if err := e.client.Notify(ctx, "test_echoAny", make(chan int)); err == nil {
		t.Error("Notify with an unencodable argument succeeded")
	}
}

func ctConcurrent(t *testing.T, e *ctEnv) {
	const goroutines, calls = 32, 20
	ctx := ctCtx(t)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				want := rpctest.EchoResult{String: fmt.Sprintf("g%d-c%d", g, i), Int: g*1000 + i}
				var got rpctest.EchoResult
				if err := e.client.Call(ctx, &got, "test_echo", want.String, want.Int); err != nil {
					t.Errorf("goroutine %d call %d: %v", g, i, err)
					return
				}
				if got != want {
					t.Errorf("goroutine %d call %d: got %+v, want %+v", g, i, got, want)
					return
				}
				if i%5 == 0 { // some calls that fail, mixed in
					err := e.client.Call(ctx, nil, "test_fail")
					var re *rpc.Error
					if !errors.As(err, &re) || re.Message != "plain failure" {
						t.Errorf("goroutine %d: test_fail = %v", g, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func ctContextTimeout(t *testing.T, e *ctEnv) {
	const block = 600 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	var s string
	err := e.client.Call(ctx, &s, "test_block", block.Milliseconds())
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if elapsed > block/2 {
		t.Errorf("the call returned after %v: it waited for the method (%v)", elapsed, block)
	}
	// The method is still running; other calls go on meanwhile.
	var sum int
	if err := e.client.Call(ctCtx(t), &sum, "test_add", 1, 2); err != nil || sum != 3 {
		t.Errorf("call during the blocked method: %d, %v", sum, err)
	}
	if time.Since(start) >= block {
		t.Errorf("the test took %v, too long to show the method was still running", time.Since(start))
	}

	// A context cancelled before the answer can come also ends the call.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := e.client.Call(ctx2, &s, "test_block", 300); !errors.Is(err, context.Canceled) {
		t.Errorf("call with a cancelled context: %v, want context.Canceled", err)
	}
	// The late answers are dropped; the client still works.
	time.Sleep(block)
	if err := e.client.Call(ctCtx(t), &s, "test_repeat", "k", 1); err != nil || s != "k" {
		t.Errorf("call after the late answers: %q, %v", s, err)
	}
}

func ctClose(t *testing.T, e *ctEnv) {
	pending := make(chan error, 1)
	started := time.Now()
	go func() { pending <- e.client.Call(context.Background(), nil, "test_sleep", 1500) }()
	time.Sleep(100 * time.Millisecond) // let the call reach the server
	if err := e.client.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	select {
	case err := <-pending:
		if !errors.Is(err, rpc.ErrClosed) {
			t.Errorf("pending call: %v, want ErrClosed", err)
		}
		if d := time.Since(started); d > time.Second {
			t.Errorf("pending call returned after %v: it waited for the method", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("pending call did not return after Close")
	}
	ctx := ctCtx(t)
	if err := e.client.Call(ctx, nil, "test_add", 1, 2); !errors.Is(err, rpc.ErrClosed) {
		t.Errorf("Call after Close: %v, want ErrClosed", err)
	}
	if err := e.client.CallNamed(ctx, nil, "test_add", map[string]int{"a": 1, "b": 2}); !errors.Is(err, rpc.ErrClosed) {
		t.Errorf("CallNamed after Close: %v, want ErrClosed", err)
	}
	if err := e.client.Notify(ctx, "test_incr"); !errors.Is(err, rpc.ErrClosed) {
		t.Errorf("Notify after Close: %v, want ErrClosed", err)
	}
	if err := e.client.BatchCall(ctx, []rpc.BatchElem{{Method: "test_incr"}}); !errors.Is(err, rpc.ErrClosed) {
		t.Errorf("BatchCall after Close: %v, want ErrClosed", err)
	}
	e.client.Close() // idempotent: must not panic or block
}

func ctServerCloses(t *testing.T, e *ctEnv) {
	pending := make(chan error, 1)
	go func() { pending <- e.client.Call(context.Background(), nil, "test_sleep", 2000) }()
	time.Sleep(100 * time.Millisecond)
	e.closeServerSide()
	select {
	case err := <-pending:
		// net.Pipe reports the peer's close as io.EOF.
		if !errors.Is(err, io.EOF) {
			t.Errorf("pending call: %v, want an error wrapping the read error io.EOF", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("pending call did not return after the server closed the connection")
	}
	ctx := ctCtx(t)
	if err := e.client.Call(ctx, nil, "test_add", 1, 2); !errors.Is(err, io.EOF) {
		t.Errorf("Call after the connection was lost: %v, want an error wrapping io.EOF", err)
	}
	if err := e.client.Notify(ctx, "test_incr"); err == nil {
		t.Error("Notify after the connection was lost succeeded")
	}
	if err := e.client.BatchCall(ctx, []rpc.BatchElem{{Method: "test_incr"}}); err == nil {
		t.Error("BatchCall after the connection was lost succeeded")
	}
}

// ctServerStops: Server.Stop cancels the calls and closes the connection; the pending call and
// later calls fail, promptly.
func ctServerStops(t *testing.T, e *ctEnv) {
	pending := make(chan error, 1)
	go func() { pending <- e.client.Call(context.Background(), nil, "test_sleep", 2000) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	e.srv.Stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Stop took %v: it did not cancel test_sleep", d)
	}
	select {
	case err := <-pending:
		if err == nil {
			t.Error("pending call succeeded after the server stopped")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("pending call did not return after the server stopped")
	}
	ctx := ctCtx(t)
	if err := e.client.Call(ctx, nil, "test_add", 1, 2); err == nil {
		t.Error("Call after the server stopped succeeded")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Call after the server stopped waited for its context: %v", err)
	}
}

func ctMessageTooLarge(t *testing.T, e *ctEnv) {
	ctx := ctCtx(t)
	var s string
	small := strings.Repeat("s", 900)
	if err := e.client.Call(ctx, &s, "test_echoAny", small); err != nil || s != small {
		t.Fatalf("call under the limit: %d bytes, %v", len(s), err)
	}
	err := e.client.Call(ctx, &s, "test_echoAny", strings.Repeat("x", 4096))
	re := ctRPCError(t, err)
	if re.Code != rpc.CodeInvalidRequest || !strings.Contains(re.Message, "too large") {
		t.Errorf("oversized request: %d %q, want -32600 message too large", re.Code, re.Message)
	}
	// The connection stays usable.
	var sum int
	if err := e.client.Call(ctx, &sum, "test_add", 3, 4); err != nil || sum != 7 {
		t.Errorf("call after the oversized request: %d, %v", sum, err)
	}
	// An oversized batch element is also answered, and the connection still works.
	// The -32600 (id null) reaches the caller, either as BatchCall's error or as the element's.
	elems := []rpc.BatchElem{{Method: "test_echoAny", Args: []any{strings.Repeat("y", 2048)}}}
	err = e.client.BatchCall(ctx, elems)
	if elems[0].Error == nil {
		t.Errorf("oversized batch: element has no error (BatchCall = %v)", err)
	}
	var bre *rpc.Error
	if !errors.As(err, &bre) && !errors.As(elems[0].Error, &bre) {
		t.Errorf("oversized batch: BatchCall = %v, element error = %v; want a -32600 *rpc.Error", err, elems[0].Error)
	} else if bre.Code != rpc.CodeInvalidRequest {
		t.Errorf("oversized batch: code %d, want -32600", bre.Code)
	}
	if err := e.client.Call(ctx, &sum, "test_add", 5, 6); err != nil || sum != 11 {
		t.Errorf("call after the oversized batch: %d, %v", sum, err)
	}
}

// TestClientInprocMessageTooLarge checks Options.MaxMessageBytes on the in-process transport,
// which its documentation names: "bounds one incoming message on stream transports (IPC,
// in-process). A larger message is skipped and answered -32600".
func TestClientInprocMessageTooLarge(t *testing.T) {
	e := ctDialInproc(t, &rpc.Options{MaxMessageBytes: 1024})
	var s string
	err := e.client.Call(ctCtx(t), &s, "test_echoAny", strings.Repeat("x", 4096))
	var re *rpc.Error
	if !errors.As(err, &re) || re.Code != rpc.CodeInvalidRequest {
		t.Errorf("4 KiB request with MaxMessageBytes 1024 over inproc: result of %d bytes, error %v; want a -32600 *rpc.Error", len(s), err)
	}
	var sum int
	if err := e.client.Call(ctCtx(t), &sum, "test_add", 3, 4); err != nil || sum != 7 {
		t.Errorf("call after the oversized request: %d, %v", sum, err)
	}
}

// ctGate is a result whose decoding signals entered and then waits for release: it holds the
// client's read loop in the middle of an answer.
type ctGate struct {
	entered, release chan struct{}
	v                int
}

func (g *ctGate) UnmarshalJSON(b []byte) error {
	close(g.entered)
	<-g.release
	return json.Unmarshal(b, &g.v)
}

// TestClientBatchElemsSettledAfterClose: a batch failed by Close returns once an answer being
// decoded into one of its results is finished, and nothing is written to its elements after it
// returns.
func TestClientBatchElemsSettledAfterClose(t *testing.T) {
	e := ctDialStream(t, nil)
	g := &ctGate{entered: make(chan struct{}), release: make(chan struct{})}
	elems := []rpc.BatchElem{
		{Method: "test_add", Args: []any{1, 2}, Result: g},
		{Method: "test_add", Args: []any{3, 4}, Result: new(int)},
	}
	batchDone := make(chan error, 1)
	go func() { batchDone <- e.client.BatchCall(context.Background(), elems) }()
	select {
	case <-g.entered:
	case <-time.After(3 * time.Second):
		t.Fatal("the answer was not decoded")
	}
	closeDone := make(chan struct{})
	go func() {
		defer close(closeDone)
		e.client.Close()
	}()
	time.Sleep(50 * time.Millisecond) // Close is now waiting for the decode in progress
	close(g.release)
	var err error
	select {
	case err = <-batchDone:
	case <-time.After(3 * time.Second):
		t.Fatal("BatchCall did not return after Close")
	}
	if !errors.Is(err, rpc.ErrClosed) {
		t.Errorf("BatchCall = %v, want ErrClosed", err)
	}
	settled := make([]error, len(elems))
	for i := range elems {
		settled[i] = elems[i].Error
	}
	if settled[0] != nil || g.v != 3 {
		t.Errorf("elem 0 (decoded before Close won): Error %v, Result %d; want nil, 3", settled[0], g.v)
	}
	if !errors.Is(settled[1], rpc.ErrClosed) {
		t.Errorf("elem 1: Error %v, want ErrClosed", settled[1])
	}
	select {
	case <-closeDone:
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not return")
	}
	for i := range elems {
		if elems[i].Error != settled[i] {
			t.Errorf("elem %d: Error changed after BatchCall returned: %v → %v", i, settled[i], elems[i].Error)
		}
	}
}
