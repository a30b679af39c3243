package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
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
			if err := e.client.Register("slow", slowService{release}); err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			err := e.client.Call(context.Background(), &raw, "test_callback", "slow_wait", nil)
			if err == nil || !strings.Contains(err.Error(), "call to the client's slow_wait: the client did not answer within 50ms") {
				t.Fatalf("got %v, want the timeout", err)
			}
		})
	}
}

type slowService struct{ release chan struct{} }

func (s slowService) Wait(ctx context.Context) error {
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return nil
}
