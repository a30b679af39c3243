package httprpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// dial returns a client of the server at url, closed when the test ends.
func dial(t testing.TB, url string, opts *httprpc.ClientOptions) *rpc.Client {
	t.Helper()
	c, err := httprpc.Dial(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClientCalls(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, nil)
	c := dial(t, ts.URL, nil)
	ctx := context.Background()

	var sum int
	if err := c.Call(ctx, &sum, "test_add", 1, 2); err != nil || sum != 3 {
		t.Fatalf("test_add(1, 2) = %d, %v", sum, err)
	}
	if err := c.CallNamed(ctx, &sum, "test_add", map[string]int{"a": 40, "b": 2}); err != nil || sum != 42 {
		t.Fatalf("test_add{a:40, b:2} = %d, %v", sum, err)
	}
	var transport string
	if err := c.Call(ctx, &transport, "test_peer"); err != nil || transport != rpc.TransportHTTP {
		t.Fatalf("test_peer = %q, %v; want %q", transport, err, rpc.TransportHTTP)
	}
	// A large answer, compressed on the wire and decompressed by net/http.
	var long string
	if err := c.Call(ctx, &long, "test_repeat", "ab", 100_000); err != nil || long != strings.Repeat("ab", 100_000) {
		t.Fatalf("test_repeat: %d bytes, %v", len(long), err)
	}
}

func TestClientErrors(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, nil)
	c := dial(t, ts.URL, nil)
	ctx := context.Background()

	var e *rpc.Error
	err := c.Call(ctx, nil, "test_failCoded")
	if !errors.As(err, &e) || e.Code != -32042 || e.Message != "coded failure" {
		t.Fatalf("test_failCoded: err = %v, want -32042 coded failure", err)
	}
	if data, ok := e.Data.(json.RawMessage); !ok || string(data) != `{"why":"testing"}` {
		t.Fatalf("error data = %#v, want {\"why\":\"testing\"}", e.Data)
	}
	if err := c.Call(ctx, nil, "test_nope"); !errors.As(err, &e) || e.Code != rpc.CodeMethodNotFound {
		t.Fatalf("unknown method: err = %v, want -32601", err)
	}
}

func TestClientBatch(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, nil)
	c := dial(t, ts.URL, nil)
	var sum int
	var s string
	batch := []rpc.BatchElem{
		{Method: "test_add", Args: []any{1, 2}, Result: &sum},
		{Method: "test_fail"},
		{Method: "test_repeat", Args: []any{"x", 3}, Result: &s},
	}
	if err := c.BatchCall(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var e *rpc.Error
	switch {
	case batch[0].Error != nil || sum != 3:
		t.Errorf("element 0: %d, %v", sum, batch[0].Error)
	case !errors.As(batch[1].Error, &e) || e.Code != rpc.CodeServerError:
		t.Errorf("element 1: %v, want -32000", batch[1].Error)
	case batch[2].Error != nil || s != "xxx":
		t.Errorf("element 2: %q, %v", s, batch[2].Error)
	}
}

func TestClientNotify(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, nil)
	c := dial(t, ts.URL, nil)
	ctx := context.Background()
	for range 3 {
		if err := c.Notify(ctx, "test_incr"); err != nil {
			t.Fatal(err)
		}
	}
	// Over HTTP a notification has run when Notify returns.
	var n int
	if err := c.Call(ctx, &n, "test_count"); err != nil || n != 3 {
		t.Fatalf("test_count = %d, %v; want 3", n, err)
	}
}

// TestClientHTTPError: statuses outside 2xx are *HTTPError with the status in the message.
func TestClientHTTPError(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, &httprpc.Options{VirtualHosts: []string{"rpc.example"}})
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{"wrong content type", http.Header{"Content-Type": {"text/plain"}}, 415},
		{"host refused", http.Header{"Host": {"evil.example"}}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, ts.URL, &httprpc.ClientOptions{Header: tt.header})
			err := c.Call(context.Background(), nil, "test_add", 1, 2)
			var he *httprpc.HTTPError
			if !errors.As(err, &he) || he.StatusCode != tt.status {
				t.Fatalf("err = %v, want HTTPError %d", err, tt.status)
			}
			if want := http.StatusText(tt.status); !strings.Contains(err.Error(), want) {
				t.Fatalf("message %q does not name the status %q", err, want)
			}
		})
	}
	// The accepted host, set with the Host header, passes.
	c := dial(t, ts.URL, &httprpc.ClientOptions{Header: http.Header{"Host": {"RPC.example:8545"}}})
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); err != nil {
		t.Fatal(err)
	}
}

// TestClientOptions: extra headers reach the server and peer info; the response limit holds.
func TestClientOptions(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	var mu sync.Mutex
	var seen http.Header
	h := httprpc.NewHandler(srv, nil)
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := dial(t, ts.URL, &httprpc.ClientOptions{
		HTTPClient:       &http.Client{Transport: tr},
		Header:           http.Header{"Authorization": {"Bearer t0ken"}, "Origin": {"https://app.example"}},
		MaxResponseBytes: 1000,
	})
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for k, want := range map[string]string{
		"Authorization": "Bearer t0ken", "Origin": "https://app.example", "Content-Type": "application/json",
	} {
		if got := seen.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	mu.Unlock()
	err := c.Call(context.Background(), nil, "test_repeat", "x", 2000)
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Fatalf("over MaxResponseBytes: err = %v", err)
	}
}

// TestClientClose: Close ends the calls in flight at once; later calls fail with ErrClosed.
func TestClientClose(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, nil)
	c := dial(t, ts.URL, nil)
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Call(context.Background(), nil, "test_sleep", 5000) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("call in flight: err = %v, want ErrClosed", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the call in flight ended %v after Close", d)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("call after Close: err = %v, want ErrClosed", err)
	}
	if err := c.Notify(context.Background(), "test_incr"); !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("notify after Close: err = %v, want ErrClosed", err)
	}
}

func TestDialErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		url  string
	}{
		{"ws scheme", context.Background(), "ws://127.0.0.1:1"},
		{"no scheme", context.Background(), "127.0.0.1:8545"},
		{"bad url", context.Background(), "http://[::1"},
		{"cancelled", cancelled, "http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		if c, err := httprpc.Dial(tt.ctx, tt.url, nil); err == nil {
			c.Close()
			t.Errorf("%s: Dial(%q) succeeded", tt.name, tt.url)
		}
	}
}

// TestContextCancel: a call ends with its context.
func TestContextCancel(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, nil)
	c := dial(t, ts.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, nil, "test_sleep", 2000); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, nil)
	c := dial(t, ts.URL, nil)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 10 {
				var sum int
				if err := c.Call(context.Background(), &sum, "test_add", g, i); err != nil || sum != g+i {
					t.Errorf("test_add(%d, %d) = %d, %v", g, i, sum, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
