package httprpc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

type ctxKey struct{}

// TestClientHeaderFunc: HeaderFunc runs for each request with the call's context, and what it
// sets replaces Header's of the same name.
func TestClientHeaderFunc(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	h := httprpc.NewHandler(srv, nil)
	var mu sync.Mutex
	var seen []http.Header
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	var n atomic.Int64
	c := dial(t, ts.URL, &httprpc.ClientOptions{
		Header: http.Header{"Authorization": {"Bearer static"}, "X-Static": {"s"}},
		HeaderFunc: func(ctx context.Context, h http.Header) {
			h.Set("Authorization", "Bearer "+strconv.FormatInt(n.Add(1), 10))
			h.Set("X-Call", ctx.Value(ctxKey{}).(string))
		},
	})
	for _, call := range []string{"a", "b"} {
		ctx := context.WithValue(context.Background(), ctxKey{}, call)
		if err := c.Call(ctx, nil, "test_add", 1, 2); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, want := range []string{"a", "b"} {
		if got := seen[i].Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+strconv.Itoa(i+1) {
			t.Errorf("request %d: Authorization %q, want one fresh token", i, got)
		}
		if got := seen[i].Get("X-Call"); got != want {
			t.Errorf("request %d: X-Call %q, want the call's context's %q", i, got, want)
		}
		if got := seen[i].Get("X-Static"); got != "s" {
			t.Errorf("request %d: X-Static %q, want Header's kept", i, got)
		}
	}
}

// TestClientTLSConfig: https:// with TLSClientConfig reaches a server whose certificate only
// that configuration trusts; without it the call fails.
func TestClientTLSConfig(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	ts := httptest.NewTLSServer(httprpc.NewHandler(srv, nil))
	defer ts.Close()
	tlsConfig := ts.Client().Transport.(*http.Transport).TLSClientConfig
	var sum int
	if err := dial(t, ts.URL, &httprpc.ClientOptions{TLSClientConfig: tlsConfig}).Call(context.Background(), &sum, "test_add", 1, 2); err != nil || sum != 3 {
		t.Fatalf("test_add over https = %d, %v", sum, err)
	}
	if err := dial(t, ts.URL, nil).Call(context.Background(), &sum, "test_add", 1, 2); err == nil {
		t.Fatal("a certificate of an unknown authority was accepted without TLSClientConfig")
	}
}
