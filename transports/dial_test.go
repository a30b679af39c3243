package transports_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/ipc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// TestDial reaches one server over every transport by endpoint and checks each call arrives
// on the transport the endpoint names, with the header given in Options.
func TestDial(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	var gotAuth atomic.Value
	httpH := httprpc.NewHandler(srv, nil)
	wsH := wsrpc.NewHandler(srv, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		if wsrpc.IsUpgrade(r) {
			wsH.ServeHTTP(w, r)
		} else {
			httpH.ServeHTTP(w, r)
		}
	}))
	defer hs.Close()
	path := filepath.Join(t.TempDir(), "d.ipc")
	if runtime.GOOS == "windows" {
		path = `\\.\pipe\polyrpc-dial-test`
	}
	ep, err := ipc.Serve(srv, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()

	endpoints := map[string]string{
		"http": hs.URL,
		"ws":   "ws" + strings.TrimPrefix(hs.URL, "http"),
		"ipc":  path,
	}
	if runtime.GOOS != "windows" {
		endpoints["ipc (unix://)"] = "unix://" + path
	}
	for name, endpoint := range endpoints {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			opts := &transports.Options{Header: http.Header{"Authorization": {"Bearer x"}}}
			c, err := transports.Dial(ctx, endpoint, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var transport string
			if err := c.Call(ctx, &transport, "test_peer"); err != nil {
				t.Fatal(err)
			}
			want := strings.Fields(name)[0]
			if transport != want {
				t.Fatalf("call arrived over %q, want %q", transport, want)
			}
			if auth, _ := gotAuth.Load().(string); want != "ipc" && auth != "Bearer x" {
				t.Fatalf("Authorization header %q, want the one given", auth)
			}
		})
	}
	srv.Stop()
}

func TestDialUnknownScheme(t *testing.T) {
	_, err := transports.Dial(context.Background(), "ftp://example.invalid", nil)
	if err == nil || !strings.Contains(err.Error(), "no transport") {
		t.Fatalf("err = %v, want a clear error", err)
	}
}

// TestDialTLSAndHeaderFunc: Options.TLSClientConfig reaches https:// and wss:// endpoints, and
// Options.HeaderFunc's headers go with each HTTP request and each handshake.
func TestDialTLSAndHeaderFunc(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	httpH, wsH := httprpc.NewHandler(srv, nil), wsrpc.NewHandler(srv, nil)
	var tokens atomic.Int64
	var lastAuth atomic.Value
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastAuth.Store(r.Header.Get("Authorization"))
		if wsrpc.IsUpgrade(r) {
			wsH.ServeHTTP(w, r)
		} else {
			httpH.ServeHTTP(w, r)
		}
	}))
	defer hs.Close()
	opts := &transports.Options{
		TLSClientConfig: hs.Client().Transport.(*http.Transport).TLSClientConfig,
		HeaderFunc: func(_ context.Context, h http.Header) {
			h.Set("Authorization", "Bearer "+strconv.FormatInt(tokens.Add(1), 10))
		},
	}
	for _, endpoint := range []string{hs.URL, "wss" + strings.TrimPrefix(hs.URL, "https")} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := transports.Dial(ctx, endpoint, opts)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			var sum int
			if err := c.Call(ctx, &sum, "test_add", 1, 2); err != nil || sum != 3 {
				t.Fatalf("%s: test_add = %d, %v", endpoint, sum, err)
			}
		}
		c.Close()
		cancel()
	}
	// Two HTTP requests and one handshake: three tokens, the last one the handshake's.
	if n, auth := tokens.Load(), lastAuth.Load(); n != 3 || auth != "Bearer 3" {
		t.Fatalf("%d tokens made, last seen %q; want 3, the handshake's last", n, auth)
	}
	srv.Stop()
}
