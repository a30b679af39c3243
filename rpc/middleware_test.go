package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// decodes counts the decodings of counted arguments: a call refused before its params are
// decoded leaves it alone.
var decodes atomic.Int64

// counted is an argument that counts its decodings, and panics on the params "panic".
type counted int

func (c *counted) UnmarshalJSON(b []byte) error {
	decodes.Add(1)
	if string(b) == `"panic"` {
		panic("decoded a refused call")
	}
	return json.Unmarshal(b, (*int)(c))
}

type ctxKey struct{}

// mwService is registered as "mw" next to the reference test services.
type mwService struct{}

// Guarded takes an argument that counts its decodings.
func (mwService) Guarded(x counted) int { return int(x) }

// Value returns the string a middleware put in the context.
func (mwService) Value(ctx context.Context) string {
	v, _ := ctx.Value(ctxKey{}).(string)
	return v
}

// mwServer returns a test server with mw registered, built with opts, and a session on it
// writing to w (an inbox when nil).
func mwServer(t *testing.T, opts *rpc.Options, w rpc.MessageWriter) (*rpc.Server, *rpc.Session, *rpctest.Inbox) {
	t.Helper()
	srv := rpctest.NewServer(t, opts)
	if err := srv.Register("mw", mwService{}); err != nil {
		t.Fatal(err)
	}
	inbox := rpctest.NewInbox()
	if w == nil {
		w = inbox
	}
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: "test"}}, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	return srv, ss, inbox
}

// seenCall is what the recording middleware saw of a call and its outcome.
type seenCall struct {
	kind         rpc.CallKind
	method, sub  string
	id           string
	params, size int
	batch        int
	code         int // 0: success
}

func (s seenCall) String() string {
	return fmt.Sprintf("%s %s%s id=%s params=%d batch=%d code=%d", s.kind, s.method, s.sub, s.id, s.params, s.batch, s.code)
}

// recorder returns a middleware that records the calls it sees, in the order they start, with
// their outcomes.
func recorder(mu *sync.Mutex, seen *[]seenCall) rpc.Middleware {
	return func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			if c.Conn == nil || c.Conn.ID == 0 || c.Method == nil {
				panic("a call without its connection or method")
			}
			s := seenCall{kind: c.Kind, method: c.Method.Name, sub: c.Method.Subscription, id: string(c.ID),
				params: c.ParamsSize, batch: c.BatchSize}
			if s.sub != "" {
				s.sub = "(" + s.sub + ")"
			}
			mu.Lock()
			i := len(*seen)
			*seen = append(*seen, s)
			mu.Unlock()
			o := next(ctx, c)
			mu.Lock()
			(*seen)[i].size = o.Size
			if o.Err != nil {
				(*seen)[i].code = o.Err.Code
			}
			mu.Unlock()
			return o
		}
	}
}

// TestMiddlewareSeesEveryCall: every kind of call reaches the middleware once, before it runs,
// with what it needs to know; a batch as a whole and then each item.
func TestMiddlewareSeesEveryCall(t *testing.T) {
	rpctest.CheckLeaks(t)
	var (
		mu   sync.Mutex
		seen []seenCall
	)
	_, ss, inbox := mwServer(t, &rpc.Options{Middleware: []rpc.Middleware{recorder(&mu, &seen)}}, nil)
	sub := ""
	for _, tc := range []struct {
		name, req string
		answers   int
		want      []seenCall
	}{
		{"call", `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`, 1,
			[]seenCall{{kind: rpc.KindCall, method: "test_add", id: "1", params: 5, size: 35}}},
		{"notification", `{"jsonrpc":"2.0","method":"test_incr"}`, 0,
			[]seenCall{{kind: rpc.KindNotification, method: "test_incr"}}},
		{"unknown method", `{"jsonrpc":"2.0","id":"x","method":"nope_nope","params":{}}`, 1,
			[]seenCall{{kind: rpc.KindCall, method: rpc.MethodOther, id: `"x"`, params: 2, size: 105, code: rpc.CodeMethodNotFound}}},
		{"coded error", `{"jsonrpc":"2.0","id":2,"method":"test_failCoded"}`, 1,
			[]seenCall{{kind: rpc.KindCall, method: "test_failCoded", id: "2", size: 98, code: -32042}}},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","method":"test_incr"},{"jsonrpc":"2.0","id":3,"method":"nope"}]`, 1,
			[]seenCall{
				{kind: rpc.KindBatch, method: rpc.MethodBatch, params: 141, batch: 3, size: 136},
				{kind: rpc.KindCall, method: "test_add", id: "1", params: 5, batch: 3, size: 35},
				{kind: rpc.KindNotification, method: "test_incr", batch: 3},
				{kind: rpc.KindCall, method: rpc.MethodOther, id: "3", batch: 3, size: 98, code: rpc.CodeMethodNotFound},
			}},
		{"subscribe", `{"jsonrpc":"2.0","id":4,"method":"nftest_subscribe","params":["ticks",0,0]}`, 1,
			[]seenCall{{kind: rpc.KindSubscribe, method: "nftest_subscribe", sub: "(ticks)", id: "4", params: 13, size: 0}}},
		{"unknown subscription", `{"jsonrpc":"2.0","id":5,"method":"nftest_subscribe","params":["nope"]}`, 1,
			[]seenCall{{kind: rpc.KindSubscribe, method: rpc.MethodOther, id: "5", params: 8, size: 109, code: rpc.CodeMethodNotFound}}},
		{"unsubscribe", `{"jsonrpc":"2.0","id":6,"method":"nftest_unsubscribe","params":[SUB]}`, 1,
			[]seenCall{{kind: rpc.KindUnsubscribe, method: "nftest_unsubscribe", id: "6", size: 37}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			if err := ss.Handle(context.Background(), []byte(strings.ReplaceAll(tc.req, "SUB", sub))); err != nil {
				t.Fatal(err)
			}
			var answers []string
			for range tc.answers {
				answers = append(answers, recv(t, inbox))
			}
			if tc.name == "subscribe" {
				var a struct{ Result string }
				json.Unmarshal([]byte(answers[0]), &a)
				sub = `"` + a.Result + `"`
				tc.want[0].size = len(answers[0])
			}
			if tc.name == "unsubscribe" {
				tc.want[0].params = len(sub) + 2
			}
			mu.Lock()
			got := seen
			mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("seen:\n%v\nwant:\n%v\nanswers: %s", got, tc.want, answers)
			}
			if tc.answers == 1 && got[0].size != len(answers[0]) {
				t.Errorf("outcome size %d, answer %d bytes: %s", got[0].size, len(answers[0]), answers[0])
			}
		})
	}
}

// TestMiddlewareOrder: the first middleware is the outermost; a context value a middleware
// passes on reaches the next ones and the method.
func TestMiddlewareOrder(t *testing.T) {
	rpctest.CheckLeaks(t)
	var log []string
	named := func(name string) rpc.Middleware {
		return func(next rpc.Handler) rpc.Handler {
			return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
				v, _ := ctx.Value(ctxKey{}).(string)
				log = append(log, name+">"+v)
				o := next(context.WithValue(ctx, ctxKey{}, v+name), c)
				log = append(log, "<"+name)
				return o
			}
		}
	}
	_, ss, inbox := mwServer(t, &rpc.Options{Middleware: []rpc.Middleware{named("a"), named("b"), named("c")}}, nil)
	if err := ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"mw_value"}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := recv(t, inbox), `{"jsonrpc":"2.0","id":1,"result":"abc"}`; got != want {
		t.Errorf("answer %s, want %s", got, want)
	}
	if got, want := strings.Join(log, " "), "a> b>a c>ab <c <b <a"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

// closeRecorder is a session writer that records the reason it was closed with.
type closeRecorder struct {
	*rpctest.Inbox
	mu     sync.Mutex
	reason string
	closed chan struct{}
}

func (c *closeRecorder) CloseWithReason(reason string) error {
	c.mu.Lock()
	c.reason = reason
	c.mu.Unlock()
	close(c.closed)
	return nil
}

// TestMiddlewareRefuses: a middleware refuses a call before its params are decoded, with the
// error it chooses, or closes the connection once the call is answered.
func TestMiddlewareRefuses(t *testing.T) {
	rpctest.CheckLeaks(t)
	refusal := &rpc.Error{Code: -32099, Message: "refused", Data: map[string]string{"why": "test"}}
	const refused = `"error":{"code":-32099,"message":"refused","data":{"why":"test"}}`
	guard := func(o rpc.Outcome, kinds ...rpc.CallKind) rpc.Middleware {
		return func(next rpc.Handler) rpc.Handler {
			return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
				for _, k := range kinds {
					if c.Kind == k && (c.Kind == rpc.KindBatch || c.Method.Name == "mw_guarded") {
						return o
					}
				}
				return next(ctx, c)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		mw     rpc.Middleware
		req    string
		want   string // the answer; "" for none
		reason string // the connection is closed with it
	}{
		{"call", guard(rpc.Outcome{Err: refusal}, rpc.KindCall),
			`{"jsonrpc":"2.0","id":1,"method":"mw_guarded","params":["panic"]}`,
			`{"jsonrpc":"2.0","id":1,` + refused + `}`, ""},
		{"notification", guard(rpc.Outcome{Err: refusal}, rpc.KindNotification),
			`{"jsonrpc":"2.0","method":"mw_guarded","params":["panic"]}`, "", ""},
		{"batch item", guard(rpc.Outcome{Err: refusal}, rpc.KindCall),
			`[{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","id":2,"method":"mw_guarded","params":["panic"]},{"jsonrpc":"2.0","id":3,"method":"mw_guarded","params":[7]}]`,
			`[{"jsonrpc":"2.0","id":1,"result":3},{"jsonrpc":"2.0","id":2,` + refused + `},{"jsonrpc":"2.0","id":3,` + refused + `}]`, ""},
		{"batch", guard(rpc.Outcome{Err: refusal}, rpc.KindBatch),
			`[{"jsonrpc":"2.0","method":"test_incr"},{"jsonrpc":"2.0","id":7,"method":"mw_guarded","params":["panic"]}]`,
			`[{"jsonrpc":"2.0","id":7,` + refused + `}]`, ""},
		{"no error", guard(rpc.Outcome{}, rpc.KindCall),
			`{"jsonrpc":"2.0","id":1,"method":"mw_guarded","params":["panic"]}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"internal error: a middleware refused the call without an error"}}`, ""},
		{"close", guard(rpc.Outcome{Err: refusal, Close: "banned"}, rpc.KindCall),
			`{"jsonrpc":"2.0","id":1,"method":"mw_guarded","params":["panic"]}`,
			`{"jsonrpc":"2.0","id":1,` + refused + `}`, "banned"},
		{"close without answer", guard(rpc.Outcome{Close: "bye"}, rpc.KindCall),
			`{"jsonrpc":"2.0","id":1,"method":"mw_guarded","params":["panic"]}`, "", "bye"},
		{"close after the call", func(next rpc.Handler) rpc.Handler {
			return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
				o := next(ctx, c)
				o.Close = "enough"
				return o
			}
		}, `{"jsonrpc":"2.0","id":1,"method":"mw_guarded","params":[5]}`, `{"jsonrpc":"2.0","id":1,"result":5}`, "enough"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &closeRecorder{Inbox: rpctest.NewInbox(), closed: make(chan struct{})}
			_, ss, _ := mwServer(t, &rpc.Options{Middleware: []rpc.Middleware{tc.mw}}, w)
			before := decodes.Load()
			if err := ss.Handle(context.Background(), []byte(tc.req)); err != nil {
				t.Fatal(err)
			}
			if tc.want != "" {
				if got := recv(t, w.Inbox); got != tc.want {
					t.Errorf("answer\n%s\nwant\n%s", got, tc.want)
				}
			}
			// A refused call's "panic" params would panic if decoded: only the call let
			// through is decoded.
			if got := decodes.Load() - before; got != int64(strings.Count(tc.want, `"result":5`)) {
				t.Errorf("%d params decoded", got)
			}
			if tc.reason != "" {
				<-w.closed
				if w.reason != tc.reason {
					t.Errorf("closed with %q, want %q", w.reason, tc.reason)
				}
				if err := ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":9,"method":"test_add","params":[1,2]}`)); !errors.Is(err, rpc.ErrClosed) {
					t.Errorf("Handle after the close: %v, want ErrClosed", err)
				}
				return
			}
			if tc.want == "" { // nothing was answered: the next answer is the next call's
				ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":9,"method":"test_add","params":[1,2]}`))
				if got := recv(t, w.Inbox); !strings.Contains(got, `"id":9`) {
					t.Errorf("got %s, want the answer to id 9 only", got)
				}
			}
		})
	}
}

// TestMethodInfo: each method and subscription has a MethodInfo whose index stays the same
// when it is registered again; unknown names share the MethodOther marker.
func TestMethodInfo(t *testing.T) {
	rpctest.CheckLeaks(t)
	infos := make(chan *rpc.MethodInfo, 10)
	srv, ss, inbox := mwServer(t, &rpc.Options{Middleware: []rpc.Middleware{
		func(next rpc.Handler) rpc.Handler {
			return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
				infos <- c.Method
				return next(ctx, c)
			}
		},
	}}, nil)
	call := func(req string) *rpc.MethodInfo {
		t.Helper()
		if err := ss.Handle(context.Background(), []byte(req)); err != nil {
			t.Fatal(err)
		}
		recv(t, inbox)
		return <-infos
	}
	guarded := call(`{"jsonrpc":"2.0","id":1,"method":"mw_guarded","params":[1]}`)
	if guarded.Name != "mw_guarded" || guarded.Namespace != "mw" || guarded.Index < 2 {
		t.Errorf("mw_guarded: %+v", guarded)
	}
	other1 := call(`{"jsonrpc":"2.0","id":1,"method":"a_b"}`)
	other2 := call(`{"jsonrpc":"2.0","id":1,"method":"c_d"}`)
	if other1 != other2 || other1.Name != rpc.MethodOther || other1.Index != 0 {
		t.Errorf("unknown methods: %+v and %+v, want one MethodOther marker", other1, other2)
	}
	ticks := call(`{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["ticks",0,0]}`)
	topic := call(`{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["topic","x"]}`)
	if ticks.Name != "nftest_subscribe" || ticks.Subscription != "ticks" || topic.Subscription != "topic" || ticks.Index == topic.Index {
		t.Errorf("subscriptions: %+v and %+v", ticks, topic)
	}
	if err := srv.Register("mw", mwService{}, rpc.WithPermission("p", "Value")); err != nil {
		t.Fatal(err)
	}
	again := call(`{"jsonrpc":"2.0","id":1,"method":"mw_guarded","params":[1]}`)
	if again.Index != guarded.Index || again.Name != guarded.Name {
		t.Errorf("registered again: %+v, was %+v", again, guarded)
	}
	value := call(`{"jsonrpc":"2.0","id":1,"method":"mw_value"}`)
	if value.Permission != "p" {
		t.Errorf("mw_value's permission %q, want p", value.Permission)
	}
}

// BenchmarkCallMiddleware is BenchmarkCall's no-args-string with no middleware (the
// baseline), with one that only passes the call on (the seam's own cost), and with one that
// does what a metrics adapter does: a per-method counter found by the method's index, and a
// time.Now pair.
func BenchmarkCallMiddleware(b *testing.B) {
	var counts [64]atomic.Int64
	var nanos [64]atomic.Int64
	metrics := func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			start := time.Now()
			o := next(ctx, c)
			if i := c.Method.Index; i < len(counts) {
				counts[i].Add(1)
				nanos[i].Add(int64(time.Since(start)))
			}
			return o
		}
	}
	through := func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome { return next(ctx, c) }
	}
	for _, bc := range []struct {
		name string
		mws  []rpc.Middleware
	}{{"none", nil}, {"through", []rpc.Middleware{through}}, {"metrics", []rpc.Middleware{metrics}}} {
		b.Run(bc.name, func(b *testing.B) {
			c := benchClientOf(b, rpctest.NewServer(b, &rpc.Options{Middleware: bc.mws}))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				var s string
				if err := c.Call(ctx, &s, "test_iD"); err != nil || s != "id" {
					b.Fatal(s, err)
				}
			}
		})
	}
}
