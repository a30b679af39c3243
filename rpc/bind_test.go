package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

func TestBindErrors(t *testing.T) {
	c := ctDialServer(t, rpctest.NewServer(t, nil))
	var (
		good      func(context.Context) error
		n         int
		nilFn     *func(context.Context) error
		noCtx     func(int) error
		noArgs    func() error
		ctxSecond func(int, context.Context) error
		noResults func(context.Context)
		noErr     func(context.Context) int
		twoNoErr  func(context.Context) (int, string)
		errFirst  func(context.Context) (error, int)
		three     func(context.Context) (int, string, error)
	)
	tests := []struct {
		name  string
		fnPtr any
		want  string
	}{
		{"nil", nil, "needs a pointer to a func variable"},
		{"func, not a pointer", good, "needs a pointer to a func variable"},
		{"pointer to int", &n, "needs a pointer to a func variable, not *int"},
		{"nil pointer to func", nilFn, "needs a pointer to a func variable"},
		{"pointer to pointer to func", &nilFn, "needs a pointer to a func variable"},
		{"no context", &noCtx, "must take a context.Context first"},
		{"no arguments", &noArgs, "must take a context.Context first"},
		{"context second", &ctxSecond, "must take a context.Context first"},
		{"no results", &noResults, "must return error or (T, error)"},
		{"no error result", &noErr, "must return error or (T, error)"},
		{"two results, no error", &twoNoErr, "must return error or (T, error)"},
		{"error first", &errFirst, "must return error or (T, error)"},
		{"three results", &three, "must return error or (T, error)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rpc.Bind(c, "test_add", tt.fnPtr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Bind(%T) = %v, want an error containing %q", tt.fnPtr, err, tt.want)
			}
		})
	}
	if noCtx != nil || noResults != nil || noErr != nil || errFirst != nil || three != nil {
		t.Error("a failed Bind set the func variable")
	}
}

func TestBindCalls(t *testing.T) {
	c := ctDialServer(t, rpctest.NewServer(t, nil))
	ctx := ctCtx(t)

	var add func(ctx context.Context, a, b int) (int, error)
	var noArgsRets func(context.Context) error
	var fail func(context.Context) error
	var failCoded func(context.Context) (int, error)
	var sum func(context.Context, ...any) (int, error)
	var echo func(context.Context, string, ...any) (rpctest.EchoResult, error)
	var echoPtr func(context.Context, string, int, *rpctest.EchoArgs) (*rpctest.EchoResult, error)
	var data func(context.Context) ([]any, error)
	var raw func(context.Context, any) (json.RawMessage, error)
	var wrongResult func(context.Context, string, int) (int, error)
	for _, b := range []struct {
		method string
		fnPtr  any
	}{
		{"test_add", &add},
		{"test_noArgsRets", &noArgsRets},
		{"test_fail", &fail},
		{"test_failCoded", &failCoded},
		{"test_sum", &sum},
		{"test_echo", &echo},
		{"test_echo", &echoPtr},
		{"get_data", &data},
		{"test_echoAny", &raw},
		{"test_repeat", &wrongResult},
	} {
		if err := rpc.Bind(c, b.method, b.fnPtr); err != nil {
			t.Fatalf("Bind(%s, %T) = %v", b.method, b.fnPtr, err)
		}
	}

	t.Run("add", func(t *testing.T) {
		for _, tc := range []struct{ a, b, want int }{{1, 2, 3}, {-5, 5, 0}, {1 << 40, 1, 1<<40 + 1}} {
			if got, err := add(ctx, tc.a, tc.b); err != nil || got != tc.want {
				t.Errorf("add(%d, %d) = %d, %v; want %d, nil", tc.a, tc.b, got, err, tc.want)
			}
		}
	})
	t.Run("error only, success", func(t *testing.T) {
		if err := noArgsRets(ctx); err != nil {
			t.Errorf("noArgsRets = %v (%T), want a nil error", err, err)
		}
	})
	t.Run("error only, failure", func(t *testing.T) {
		re := ctRPCError(t, fail(ctx))
		if re.Code != rpc.CodeServerError || re.Message != "plain failure" {
			t.Errorf("fail = %d %q", re.Code, re.Message)
		}
	})
	t.Run("result and error, failure", func(t *testing.T) {
		got, err := failCoded(ctx)
		re := ctRPCError(t, err)
		if re.Code != -32042 || re.Message != "coded failure" {
			t.Errorf("failCoded = %d %q", re.Code, re.Message)
		}
		if raw, _ := re.Data.(json.RawMessage); !ctJSONEqual(t, raw, []byte(`{"why":"testing"}`)) {
			t.Errorf("failCoded data = %#v", re.Data)
		}
		if got != 0 {
			t.Errorf("failCoded result = %d, want the zero value", got)
		}
	})
	t.Run("variadic spread", func(t *testing.T) {
		if got, err := sum(ctx, 1, 2, 3); err != nil || got != 6 {
			t.Errorf("sum(1, 2, 3) = %d, %v; want 6", got, err)
		}
		// Spread: too few or too many elements are the server's invalid params, not one array param.
		for _, args := range [][]any{nil, {1, 2}, {1, 2, 3, 4}, {[]int{1, 2, 3}}} {
			_, err := sum(ctx, args...)
			if re := ctRPCError(t, err); re.Code != rpc.CodeInvalidParams {
				t.Errorf("sum(%v...) = %v, want -32602", args, err)
			}
		}
	})
	t.Run("variadic after a fixed argument", func(t *testing.T) {
		got, err := echo(ctx, "s", 4, map[string]string{"S": "z"})
		want := rpctest.EchoResult{String: "s", Int: 4, Args: &rpctest.EchoArgs{S: "z"}}
		if err != nil || got.String != want.String || got.Int != want.Int || got.Args == nil || *got.Args != *want.Args {
			t.Errorf("echo = %+v, %v; want %+v", got, err, want)
		}
		got, err = echo(ctx, "t", 5)
		if err != nil || got != (rpctest.EchoResult{String: "t", Int: 5}) {
			t.Errorf("echo without the optional argument = %+v, %v", got, err)
		}
	})
	t.Run("pointer result", func(t *testing.T) {
		got, err := echoPtr(ctx, "p", 1, nil)
		if err != nil || got == nil || *got != (rpctest.EchoResult{String: "p", Int: 1}) {
			t.Errorf("echoPtr = %+v, %v", got, err)
		}
	})
	t.Run("slice result", func(t *testing.T) {
		got, err := data(ctx)
		if err != nil || len(got) != 2 || got[0] != "hello" || got[1] != 5.0 {
			t.Errorf("data = %#v, %v", got, err)
		}
	})
	t.Run("raw result", func(t *testing.T) {
		got, err := raw(ctx, map[string]int{"k": 1})
		if err != nil || !ctJSONEqual(t, got, []byte(`{"k":1}`)) {
			t.Errorf("raw = %s, %v", got, err)
		}
	})
	t.Run("result of the wrong type", func(t *testing.T) {
		_, err := wrongResult(ctx, "ab", 2)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Errorf("err = %v (%T), want *json.UnmarshalTypeError", err, err)
		}
	})
	t.Run("context is used", func(t *testing.T) {
		cctx, cancel := context.WithCancel(context.Background())
		cancel()
		var block func(context.Context, int) (string, error)
		if err := rpc.Bind(c, "test_block", &block); err != nil {
			t.Fatal(err)
		}
		if _, err := block(cctx, 200); !errors.Is(err, context.Canceled) {
			t.Errorf("bound call with a cancelled context = %v, want context.Canceled", err)
		}
	})
	t.Run("closed client", func(t *testing.T) {
		c2 := ctDialServer(t, rpctest.NewServer(t, nil))
		var add2 func(context.Context, int, int) (int, error)
		if err := rpc.Bind(c2, "test_add", &add2); err != nil {
			t.Fatal(err)
		}
		c2.Close()
		if _, err := add2(ctx, 1, 2); !errors.Is(err, rpc.ErrClosed) {
			t.Errorf("bound call on a closed client = %v, want ErrClosed", err)
		}
	})
}
