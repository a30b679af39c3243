package httprpc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

type traceKey struct{}

// traced returns the value the transport put in its call's context.
type traced struct{}

func (traced) Trace(ctx context.Context) string {
	s, _ := ctx.Value(traceKey{}).(string)
	return s
}

// TestContextAndHeaderFunc: the client's HeaderFunc sees each call's context and sets a
// header; the handler's Context takes it from the request into the call's context.
func TestContextAndHeaderFunc(t *testing.T) {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("t", traced{}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(httprpc.NewHandler(srv, &httprpc.Options{
		Context: func(r *http.Request) context.Context {
			return context.WithValue(r.Context(), traceKey{}, r.Header.Get("X-Trace"))
		},
	}))
	defer hs.Close()
	c, err := httprpc.Dial(context.Background(), hs.URL, &httprpc.ClientOptions{
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
	for _, want := range []string{"a", "b", ""} {
		ctx := context.Background()
		if want != "" {
			ctx = context.WithValue(ctx, traceKey{}, want)
		}
		var got string
		if err := c.Call(ctx, &got, "t_trace"); err != nil || got != want {
			t.Errorf("t_trace = %q, %v; want %q", got, err, want)
		}
	}
}
