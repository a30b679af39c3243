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

// uiService is what the test clients serve to their server.
type uiService struct {
	client *rpc.Client
	mu     sync.Mutex
	calls  []string
}

func (u *uiService) Confirm(ctx context.Context, question string) (bool, error) {
	u.mu.Lock()
	u.calls = append(u.calls, question)
	u.mu.Unlock()
	return question == "ok?", nil
}

func (u *uiService) Refuse() error {
	return &rpc.Error{Code: 4001, Message: "refused by the user", Data: map[string]int{"tries": 3}}
}

func (u *uiService) Crash() int { panic("client handler panic") }

// Nested calls the server back while the server's call to it waits.
func (u *uiService) Nested(ctx context.Context, a, b int) (int, error) {
	var sum int
	err := u.client.Call(ctx, &sum, "test_add", a, b)
	return sum, err
}

// TestCallClient: a method calls its client on every two-way transport: the result decoded,
// the client's error with its code and data, a method the client does not serve (-32601), a
// panic in the client's method (-32603), and a client method that calls the server while the
// server waits for it.
func TestCallClient(t *testing.T) {
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			e := tr.dial(t, nil)
			ui := &uiService{client: e.client}
			if err := e.client.Register("ui", ui, rpc.WithParamNames("Confirm", "question")); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var ok bool
			if err := e.client.Call(ctx, &ok, "test_callback", "ui_confirm", []any{"ok?"}); err != nil || !ok {
				t.Fatalf("ui_confirm: %v, %v", ok, err)
			}
			var raw json.RawMessage
			err := e.client.Call(ctx, &raw, "test_callback", "ui_refuse", nil)
			var re *rpc.Error
			if !errors.As(err, &re) || re.Code != 4001 || re.Message != "refused by the user" || fmt.Sprint(string(re.Data.(json.RawMessage))) != `{"tries":3}` {
				t.Fatalf("ui_refuse: %#v (%v)", re, err)
			}
			err = e.client.Call(ctx, &raw, "test_callback", "ui_nope", nil)
			if !errors.As(err, &re) || re.Code != rpc.CodeMethodNotFound {
				t.Fatalf("ui_nope: %v", err)
			}
			err = e.client.Call(ctx, &raw, "test_callback", "ui_crash", nil)
			if !errors.As(err, &re) || re.Code != rpc.CodeInternalError {
				t.Fatalf("ui_crash: %v", err)
			}
			var sum int
			if err := e.client.Call(ctx, &sum, "test_callback", "ui_nested", []any{20, 22}); err != nil || sum != 42 {
				t.Fatalf("ui_nested: %v, %v", sum, err)
			}
			// Many at once: more than MaxCallbacks (16) wait for their turn.
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for i := range 40 {
				wg.Go(func() {
					var ok bool
					q := fmt.Sprintf("q%d", i)
					if err := e.client.Call(ctx, &ok, "test_callback", "ui_confirm", []any{q}); err != nil || ok {
						errs <- fmt.Errorf("%s: %v, %v", q, ok, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			ui.mu.Lock()
			n := len(ui.calls)
			ui.mu.Unlock()
			if n != 41 {
				t.Errorf("the client's method ran %d times, want 41", n)
			}
		})
	}
}

// TestCallClientErrors: CallClient outside a call, and the timeout of a client that does not
// answer.
func TestCallClientErrors(t *testing.T) {
	if err := rpc.CallClient(context.Background(), nil, "ui_confirm"); !errors.Is(err, rpc.ErrNoCallback) {
		t.Fatalf("outside a call: %v", err)
	}
	if err := rpc.NotifyClient(context.Background(), "ui_confirm"); !errors.Is(err, rpc.ErrNoCallback) {
		t.Fatalf("notify outside a call: %v", err)
	}
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			e := tr.dial(t, &rpc.Options{CallbackTimeout: 50 * time.Millisecond})
			release := make(chan struct{})
			defer close(release)
			ended := make(chan error, 1)
			if err := e.client.Register("slow", slowService{release, ended}); err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			err := e.client.Call(context.Background(), &raw, "test_callback", "slow_wait", nil)
			if err == nil || !strings.Contains(err.Error(), "call to the client's slow_wait: the client did not answer within 50ms") {
				t.Fatalf("got %v, want the timeout", err)
			}
			// The server gave up: its cancel notification ends the client's method.
			select {
			case err := <-ended:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("the client's method ended with %v, want its context cancelled", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("the client's method still runs after the server gave up on it")
			}
		})
	}
}

// timedCaller calls the client with a deadline of its own.
type timedCaller struct{}

func (timedCaller) Call(ctx context.Context, method string, ms int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
	defer cancel()
	return rpc.CallClient(ctx, nil, method)
}

// slowService waits until release closes or its context ends, and then sends ended its
// context's error (when ended is not nil).
type slowService struct {
	release chan struct{}
	ended   chan error
}

func (s slowService) Wait(ctx context.Context) error {
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	if s.ended != nil {
		s.ended <- ctx.Err()
	}
	return nil
}

// TestCallClientReconnecting: a reconnecting client serves the server's calls on whichever
// connection is current; a method waiting on a lost connection ends with the connection.
func TestCallClientReconnecting(t *testing.T) {
	e := newRCEnv(t, nil)
	ui := &uiService{client: e.client}
	if err := e.client.Register("ui", ui); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for round := range 3 {
		var ok bool
		if err := e.client.Call(ctx, &ok, "test_callback", "ui_confirm", []any{"ok?"}); err != nil || !ok {
			t.Fatalf("round %d: %v, %v", round, ok, err)
		}
		e.d.cut(false)
		e.waitEvent(t, true)
	}
}

// TestCallClientLimits over a raw connection: at most MaxCallbacks calls to the client wait at
// once, the next waits for a slot until its context ends; stray and malformed answers are
// dropped without disturbing the call that waits; an answer with both a result and an error
// fails its call.
func TestCallClientLimits(t *testing.T) {
	rpctest.CheckLeaks(t)
	var stray atomic.Int64
	srv := rpctest.NewServer(t, &rpc.Options{MaxCallbacks: 1,
		Hooks: rpc.Hooks{Refused: func(_ *rpc.ConnInfo, reason string) {
			if reason == rpc.RefusedStrayAnswer {
				stray.Add(1)
			}
		}}})
	if err := srv.Register("timed", timedCaller{}); err != nil {
		t.Fatal(err)
	}
	c, r := rawPipe(t, srv)
	send := func(s string) {
		t.Helper()
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() wireNote {
		t.Helper()
		n, err := readNote(t, c, r)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"timed_call","params":["ui_a",400]}`)
	first := recv()
	if first.Method != "ui_a" {
		t.Fatalf("got %+v, want the call to the client", first)
	}
	// The slot is taken: the next call to the client waits for it until its context ends,
	// without being written; then the first times out, and the server tells the client it
	// gave up on it (no such notice for the call that was never written).
	send(`{"jsonrpc":"2.0","id":2,"method":"timed_call","params":["ui_b",50]}`)
	for _, want := range []struct{ id, msg string }{
		{"2", "call to the client's ui_b: the call's context ended waiting for one of the connection's Options.MaxCallbacks: context deadline exceeded"},
		{"", rpc.DefaultCancelMethod},
		{"1", "call to the client's ui_a: the call's context ended: context deadline exceeded"},
	} {
		n := recv()
		if want.id == "" {
			if n.Method != want.msg || n.ID != nil || string(n.Params.ID) != string(first.ID) {
				t.Fatalf("got %+v, want the cancel notification of %s", n, first.ID)
			}
			continue
		}
		if string(n.ID) != want.id || n.Error == nil || !strings.HasSuffix(n.Error.Message, want.msg) {
			t.Fatalf("got %+v, want the error %q", n, want.msg)
		}
	}
	// A late answer (to the call given up on: expected, not stray), a made-up one, a batch of
	// answers: dropped.
	send(`{"jsonrpc":"2.0","id":` + string(first.ID) + `,"result":1}`)
	send(`{"jsonrpc":"2.0","id":"s77","error":{"code":1,"message":"x"}}`)
	send(`{"jsonrpc":"2.0","id":"s0","result":1}`) // no call has id s0, given up on or not
	send(`[{"jsonrpc":"2.0","id":"s3","result":1}]`)
	// A call that waits is not disturbed by them, and an answer with both members fails it.
	send(`{"jsonrpc":"2.0","id":3,"method":"test_callback","params":["ui_c",[]]}`)
	call := recv()
	send(`{"jsonrpc":"2.0","id":"s999","result":"not yours"}`)
	send(`{"jsonrpc":"2.0","id":` + string(call.ID) + `,"result":1,"error":{"code":1,"message":"both"}}`)
	n := recv()
	if string(n.ID) != "3" || n.Error == nil || !strings.Contains(n.Error.Message, "both a result and an error") {
		t.Fatalf("got %+v, want the malformed answer's error", n)
	}
	send(`{"jsonrpc":"2.0","id":4,"method":"test_add","params":[1,2]}`)
	if n := recv(); string(n.ID) != "4" || string(n.Result) != "3" {
		t.Fatalf("got %+v", n)
	}
	if s := stray.Load(); s != 4 {
		t.Errorf("%d stray answers reported, want 4 (the late answer is not one)", s)
	}
}
