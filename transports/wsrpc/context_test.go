package wsrpc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

type traceKey struct{}

type traced struct{}

func (traced) Trace(ctx context.Context) string {
	s, _ := ctx.Value(traceKey{}).(string)
	return s
}

// TestContextAndHeaderFunc: the dialer's HeaderFunc sees the dial's context and sets a header
// of the handshake; the handler's Context takes it from the upgrade request into the context
// of every call of the connection.
func TestContextAndHeaderFunc(t *testing.T) {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("t", traced{}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(wsrpc.NewHandler(srv, &wsrpc.Options{
		Context: func(r *http.Request) context.Context {
			return context.WithValue(r.Context(), traceKey{}, r.Header.Get("X-Trace"))
		},
	}))
	defer hs.Close()
	dctx := context.WithValue(context.Background(), traceKey{}, "dialled")
	c, err := wsrpc.Dial(dctx, "ws"+strings.TrimPrefix(hs.URL, "http"), &wsrpc.DialOptions{
		HeaderFunc: func(ctx context.Context, h http.Header) {
			if v, ok := ctx.Value(traceKey{}).(string); ok {
				h.Set("X-Trace", v)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		var got string
		if err := c.Call(context.Background(), &got, "t_trace"); err != nil || got != "dialled" {
			t.Errorf("t_trace = %q, %v; want the upgrade's value", got, err)
		}
	}
}
