package bench

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports"
)

// Calls from the server to its client across the two libraries: go-ethereum's client serves
// methods (Client.RegisterName) that polyrpc's server calls (rpc.CallClient, through the
// reference service's test_callback), and polyrpc's client serves methods (Client.Register)
// that go-ethereum's server calls (rpc.ClientFromContext).

// uiService is served by the clients.
type uiService struct{}

func (uiService) Confirm(question string) (bool, error) { return question == "ok?", nil }

func (uiService) Refuse() error { return refusal{} }

// refusal is an error with a code and data, in both libraries' terms.
type refusal struct{}

func (refusal) Error() string  { return "refused by the user" }
func (refusal) ErrorCode() int { return 4001 }
func (refusal) ErrorData() any { return map[string]int{"tries": 3} }

// codedError is what both libraries' clients return for an error answer.
type codedError interface {
	error
	ErrorCode() int
	ErrorData() any
}

// TestGethClientServesPolyServer: polyrpc's server calls go-ethereum's client over WebSocket and
// IPC (HTTP has no way back).
func TestGethClientServesPolyServer(t *testing.T) {
	for _, ep := range polyEndpoints {
		if ep.name == "http" {
			continue
		}
		t.Run(ep.name, func(t *testing.T) {
			ctx := interopCtx(t)
			srv := rpctest.NewServer(t, nil)
			c, err := gethrpc.DialContext(ctx, ep.start(t, srv))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			if err := c.RegisterName("ui", uiService{}); err != nil {
				t.Fatal(err)
			}
			var ok bool
			if err := c.CallContext(ctx, &ok, "test_callback", "ui_confirm", []any{"ok?"}); err != nil || !ok {
				t.Fatalf("ui_confirm: %v, %v", ok, err)
			}
			checkRefusal(t, c.CallContext(ctx, nil, "test_callback", "ui_refuse", nil))
			var ce codedError
			if err := c.CallContext(ctx, nil, "test_callback", "ui_nope", nil); !errors.As(err, &ce) || ce.ErrorCode() != -32601 {
				t.Fatalf("ui_nope: %v", err)
			}
		})
	}
}

// checkRefusal checks that err is the refusal as it went through two connections: code,
// message and data kept.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var ce codedError
	if !errors.As(err, &ce) || ce.ErrorCode() != 4001 || ce.Error() != "refused by the user" {
		t.Fatalf("ui_refuse: %v", err)
	}
	data := ce.ErrorData()
	if raw, ok := data.(interface{ MarshalJSON() ([]byte, error) }); ok {
		if b, _ := raw.MarshalJSON(); string(b) != `{"tries":3}` {
			t.Fatalf("ui_refuse data %s", b)
		}
	} else if m, ok := data.(map[string]any); !ok || m["tries"] != float64(3) {
		t.Fatalf("ui_refuse data %#v", data)
	}
}

// gethAsker is a go-ethereum service that calls the client of its connection.
type gethAsker struct{}

func (gethAsker) Ask(ctx context.Context, method string, args []any) (any, error) {
	c, ok := gethrpc.ClientFromContext(ctx)
	if !ok {
		return nil, errors.New("no client in the context")
	}
	var res any
	err := c.CallContext(ctx, &res, method, args...)
	return res, err
}

// TestPolyClientServesGethServer: go-ethereum's server calls polyrpc's client over WebSocket and
// IPC.
func TestPolyClientServesGethServer(t *testing.T) {
	endpoints := map[string]func(tb testing.TB) string{
		"ws": func(tb testing.TB) string {
			srv := gethrpc.NewServer()
			if err := srv.RegisterName("back", gethAsker{}); err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(srv.Stop)
			ts := httptest.NewServer(srv.WebsocketHandler([]string{"*"}))
			tb.Cleanup(ts.Close)
			return wsURL(ts.URL)
		},
		"ipc": func(tb testing.TB) string {
			path := socketPath(tb)
			ln, srv, err := gethrpc.StartIPCEndpoint(path, []gethrpc.API{{Namespace: "back", Service: gethAsker{}}})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() {
				ln.Close()
				srv.Stop()
			})
			return path
		},
	}
	for name, start := range endpoints {
		t.Run(name, func(t *testing.T) {
			ctx := interopCtx(t)
			c, err := transports.Dial(ctx, start(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if err := c.Register("ui", uiService{}); err != nil {
				t.Fatal(err)
			}
			var ok bool
			if err := c.Call(ctx, &ok, "back_ask", "ui_confirm", []any{"ok?"}); err != nil || !ok {
				t.Fatalf("ui_confirm: %v, %v", ok, err)
			}
			checkRefusal(t, c.Call(ctx, nil, "back_ask", "ui_refuse", []any{}))
			var e *rpc.Error
			if err := c.Call(ctx, nil, "back_ask", "ui_nope", []any{}); !errors.As(err, &e) || e.Code != rpc.CodeMethodNotFound {
				t.Fatalf("ui_nope: %v", err)
			}
		})
	}
}
