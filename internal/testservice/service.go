// Package testservice is the reference test service that the wire transcripts in rpc/testdata
// exercise (namespaces test, nftest, notify and get). rpc/rpctest registers it for tests, and
// the polyrpc binary offers it with --dev.testservice, so it must not import testing.
package testservice

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

//go:generate go run github.com/polyrpc/polyrpc/cmd/polyrpc-gen -type Service,Notify,Get,Subs

// Register registers the reference services on srv: Service as "test", Notify as "notify", Get
// as "get" and Subs as "nftest". rpctest.NewServer and the polyrpc binary's --dev.testservice
// use it.
func Register(srv *rpc.Server) error {
	return errors.Join(
		srv.Register("test", &Service{},
			rpc.WithParamNames("Add", "a", "b"),
			rpc.WithParamNames("Subtract", "minuend", "subtrahend"),
			rpc.WithParamNames("Echo", "str", "int", "args"),
			rpc.WithParamNames("Sleep", "ms"),
			rpc.WithParamNames("Callback", "method", "params"),
		),
		srv.Register("notify", &Notify{}),
		srv.Register("get", Get{}),
		srv.Register("nftest", &Subs{},
			rpc.WithParamNames("Ticks", "n", "start"),
			rpc.WithParamNames("Topic", "name", "since"),
			rpc.WithParamNames("Flood", "n", "size", "policy"),
			rpc.WithParamNames("Publish", "topic", "value"),
			rpc.WithParamNames("Subscribers", "topic"),
		),
	)
}

// Service is the main test service, registered as "test".
type Service struct {
	incr atomic.Int64
}

// EchoArgs is the optional third argument of Echo.
type EchoArgs struct {
	S string
}

// EchoResult is what Echo returns.
type EchoResult struct {
	String string
	Int    int
	Args   *EchoArgs
}

// Person is the single struct argument of EchoPerson: by-name params fill its fields.
type Person struct {
	Name  string  `json:"name"`
	Age   int     `json:"age,omitempty"`
	Email *string `json:"email"`
}

// CodedError is an error with its own code and data, as go-ethereum's error types have.
type CodedError struct{}

// Error returns the error's message, "coded failure".
func (CodedError) Error() string { return "coded failure" }

// ErrorCode returns the JSON-RPC error code the server answers with, -32042.
func (CodedError) ErrorCode() int { return -32042 }

// ErrorData returns the error's data member, {"why":"testing"}.
func (CodedError) ErrorData() any { return map[string]string{"why": "testing"} }

// NoArgsRets takes and returns nothing: its result is null.
func (s *Service) NoArgsRets() {}

// Echo returns its arguments; args is optional.
func (s *Service) Echo(str string, i int, args *EchoArgs) EchoResult {
	return EchoResult{str, i, args}
}

// EchoWithCtx is Echo with a context first. Its params are positional only.
//
//polyrpc:positional
func (s *Service) EchoWithCtx(ctx context.Context, str string, i int, args *EchoArgs) EchoResult {
	return EchoResult{str, i, args}
}

// EchoAny returns any JSON value it is given.
func (s *Service) EchoAny(v any) any { return v }

// EchoPerson returns its struct argument.
func (s *Service) EchoPerson(p Person) Person { return p }

// Add adds two integers.
func (s *Service) Add(a, b int) int { return a + b }

// Subtract is the specification's example method.
func (s *Service) Subtract(minuend, subtrahend int) int { return minuend - subtrahend }

// Sum adds three integers. Its params are positional only.
//
//polyrpc:positional
func (s *Service) Sum(a, b, c int) int { return a + b + c }

// Update is the specification's notification example.
func (s *Service) Update(a, b, c, d, e int) {}

// Incr counts notifications: it adds one to a counter that Count reads.
func (s *Service) Incr() { s.incr.Add(1) }

// Count returns how many times Incr ran.
func (s *Service) Count() int64 { return s.incr.Load() }

// Fail returns a plain error: -32000.
func (s *Service) Fail() error { return errors.New("plain failure") }

// FailCoded returns an error with a code and data.
//
// Errors:
//
//	-32042 coded failure
func (s *Service) FailCoded() (int, error) { return 0, CodedError{} }

// Panic panics.
func (s *Service) Panic() string { panic("boom") }

// MarshalFail returns a value that cannot be encoded.
func (s *Service) MarshalFail() BadJSON { return BadJSON{} }

// BadJSON fails to encode.
type BadJSON struct{}

// MarshalJSON fails.
func (BadJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot encode BadJSON") }

// Sleep waits ms milliseconds or until its context ends, and returns the context's error.
func (s *Service) Sleep(ctx context.Context, ms int) error {
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Block waits ms milliseconds ignoring its context, as badly written methods do.
func (s *Service) Block(ms int) string {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return "done"
}

// Repeat returns s n times.
func (s *Service) Repeat(str string, n int) string {
	if n < 0 || n > 1<<20 {
		return ""
	}
	return strings.Repeat(str, n)
}

// Callback calls method on the calling client with params (positional; none when absent) and
// returns the client's result; an error answer comes back with its code, message and data.
// Over HTTP, which has no way back to the client, it fails with -32000.
func (s *Service) Callback(ctx context.Context, method string, params []any) (json.RawMessage, error) {
	var res json.RawMessage
	if err := rpc.CallClient(ctx, &res, method, params...); err != nil {
		return nil, err
	}
	return res, nil
}

// SumStream adds the numbers the client streams to it (test_streamItem) and answers their sum
// when the client ends the stream (test_streamEnd).
func (s *Service) SumStream(ctx context.Context, in *rpc.Stream[float64]) (float64, error) {
	var sum float64
	for v, err := range in.All() {
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// Peer returns the caller's transport.
func (s *Service) Peer(ctx context.Context) string { return rpc.PeerInfoFromContext(ctx).Transport }

// ID shows that only the first letter is lowercased: its wire name is test_iD.
func (s *Service) ID() string { return "id" }

// Notify is the "notify" namespace of the specification's examples (notify_hello, notify_sum).
type Notify struct{}

// Hello takes one integer.
func (Notify) Hello(int) {}

// Sum takes three integers.
func (Notify) Sum(a, b, c int) {}

// Get is the "get" namespace: get_data.
type Get struct{}

// Data returns the specification's example result.
func (Get) Data() []any { return []any{"hello", 5} }
