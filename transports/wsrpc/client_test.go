package wsrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// dial connects a Go client to a new test server over WebSocket.
func dial(t *testing.T, opts *rpc.Options, dopts *wsrpc.DialOptions) (*rpc.Server, *rpc.Client) {
	t.Helper()
	srv := rpctest.NewServer(t, opts)
	c, err := wsrpc.Dial(context.Background(), serve(t, srv, nil), dopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestClientCalls(t *testing.T) {
	_, c := dial(t, nil, nil)
	ctx := context.Background()
	var sum int
	if err := c.Call(ctx, &sum, "test_add", 40, 2); err != nil || sum != 42 {
		t.Errorf("test_add = %d, %v", sum, err)
	}
	if err := c.CallNamed(ctx, &sum, "test_subtract", map[string]int{"minuend": 5, "subtrahend": 3}); err != nil || sum != 2 {
		t.Errorf("test_subtract by name = %d, %v", sum, err)
	}

	tests := []struct {
		method string
		code   int
		msg    string
		data   string
	}{
		{"test_failCoded", -32042, "coded failure", `{"why":"testing"}`},
		{"test_fail", rpc.CodeServerError, "plain failure", ""},
		{"test_nope", rpc.CodeMethodNotFound, "the method test_nope does not exist/is not available", ""},
	}
	for _, tt := range tests {
		var e *rpc.Error
		err := c.Call(ctx, nil, tt.method)
		if !errors.As(err, &e) {
			t.Errorf("%s: err = %v, want an *rpc.Error", tt.method, err)
			continue
		}
		data, _ := e.Data.(json.RawMessage)
		if e.Code != tt.code || e.Message != tt.msg || string(data) != tt.data {
			t.Errorf("%s: error %d %q data %s; want %d %q data %s", tt.method, e.Code, e.Message, data, tt.code, tt.msg, tt.data)
		}
	}
}

func TestClientBatch(t *testing.T) {
	_, c := dial(t, nil, nil)
	var sum int
	var s string
	batch := []rpc.BatchElem{
		{Method: "test_add", Args: []any{1, 2}, Result: &sum},
		{Method: "test_failCoded"},
		{Method: "test_repeat", Args: []any{"ab", 2}, Result: &s},
	}
	if err := c.BatchCall(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var e *rpc.Error
	if sum != 3 || batch[0].Error != nil || !errors.As(batch[1].Error, &e) || e.Code != -32042 || s != "abab" || batch[2].Error != nil {
		t.Fatalf("batch: sum %d, s %q, errors %v, %v, %v", sum, s, batch[0].Error, batch[1].Error, batch[2].Error)
	}
}

// TestClientConcurrent: many calls in flight on one connection, with both sides pinging as
// often as they can, so that -race sees pings, pongs and answers written concurrently.
func TestClientConcurrent(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	fast := &wsrpc.Options{PingInterval: time.Millisecond, PongTimeout: time.Second}
	c, err := wsrpc.Dial(context.Background(), serve(t, srv, fast), &wsrpc.DialOptions{PingInterval: time.Millisecond, PongTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			for j := range 10 {
				var sum int
				if err := c.Call(context.Background(), &sum, "test_add", i, j); err != nil || sum != i+j {
					t.Errorf("test_add(%d, %d) = %d, %v", i, j, sum, err)
					return
				}
				if j%3 == 0 {
					c.Call(context.Background(), nil, "test_sleep", 3) // leave the connection idle
				}
			}
		})
	}
	wg.Wait()
}

func TestClientNotify(t *testing.T) {
	_, c := dial(t, nil, nil)
	ctx := context.Background()
	for range 3 {
		if err := c.Notify(ctx, "test_incr"); err != nil {
			t.Fatal(err)
		}
	}
	// Notifications run concurrently with later calls: wait until all three have run.
	deadline := time.Now().Add(recvTimeout)
	for {
		var n int
		if err := c.Call(ctx, &n, "test_count"); err != nil {
			t.Fatal(err)
		}
		if n == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("test_count = %d after three notifications", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClientServerStop: stopping the server fails the calls still pending with the close it
// sent (1001), and later calls fail at once.
func TestClientServerStop(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv, c := dial(t, &rpc.Options{StopTimeout: 50 * time.Millisecond}, nil)
	errc := make(chan error, 1)
	go func() { errc <- c.Call(context.Background(), nil, "test_block", 300) }() // ignores cancellation
	time.Sleep(50 * time.Millisecond)
	srv.Stop()
	var err error
	select {
	case err = <-errc:
	case <-time.After(recvTimeout):
		t.Fatal("the pending call did not fail")
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("pending call: err = %v, want the close 1001", err)
	}
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); err == nil {
		t.Fatal("call after Stop succeeded")
	}
}

// TestClientClose: Close sends 1000 (normal closure), fails calls in flight and is idempotent.
func TestClientClose(t *testing.T) {
	rpctest.CheckLeaks(t)
	codes := make(chan int, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil { // never answers
				var ce *websocket.CloseError
				errors.As(err, &ce)
				if ce != nil {
					codes <- ce.Code
				} else {
					codes <- -1
				}
				return
			}
		}
	}))
	defer ts.Close()
	c, err := wsrpc.Dial(context.Background(), wsURL(ts), nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Call(context.Background(), nil, "any_method") }()
	time.Sleep(20 * time.Millisecond)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { c.Close() })
	}
	wg.Wait()
	select {
	case err := <-errc:
		if !errors.Is(err, rpc.ErrClosed) {
			t.Errorf("call in flight: err = %v, want rpc.ErrClosed", err)
		}
	case <-time.After(recvTimeout):
		t.Fatal("the call in flight did not fail")
	}
	select {
	case code := <-codes:
		if code != websocket.CloseNormalClosure {
			t.Errorf("server saw close code %d, want %d", code, websocket.CloseNormalClosure)
		}
	case <-time.After(recvTimeout):
		t.Fatal("the server saw no close")
	}
}

// TestDialHeaders: credentials in the URL become a Basic Authorization header unless the
// options carry one; the Origin option is sent.
func TestDialHeaders(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	seen := make(chan http.Header, 1)
	ws := wsrpc.NewHandler(srv, &wsrpc.Options{Origins: []string{"*"}})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		ws.ServeHTTP(w, r)
	}))
	defer ts.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	tests := []struct {
		name       string
		url        string
		opts       *wsrpc.DialOptions
		wantAuth   string
		wantOrigin string
	}{
		{"none", "ws://" + host, nil, "", ""},
		{"URL credentials", "ws://al%20ice:p%40ss@" + host, nil, "Basic YWwgaWNlOnBAc3M=", ""}, // "al ice:p@ss"
		{"header wins", "ws://alice:pass@" + host, &wsrpc.DialOptions{Header: http.Header{"Authorization": {"Bearer t0k"}}}, "Bearer t0k", ""},
		{"origin", "ws://" + host, &wsrpc.DialOptions{Origin: "https://app.example"}, "", "https://app.example"},
		{"header func wins", "ws://alice:pass@" + host, &wsrpc.DialOptions{
			Header:     http.Header{"Authorization": {"Bearer t0k"}},
			HeaderFunc: func(_ context.Context, h http.Header) { h.Set("Authorization", "Bearer fresh") },
		}, "Bearer fresh", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := wsrpc.Dial(context.Background(), tt.url, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			h := <-seen
			if got := h.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization %q, want %q", got, tt.wantAuth)
			}
			if got := h.Get("Origin"); got != tt.wantOrigin {
				t.Errorf("Origin %q, want %q", got, tt.wantOrigin)
			}
			var sum int
			if err := c.Call(context.Background(), &sum, "test_add", 1, 2); err != nil || sum != 3 {
				t.Errorf("test_add = %d, %v", sum, err)
			}
		})
	}
}

func TestDialErrors(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	refusing := serve(t, srv, nil) // refuses foreign origins
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	tests := []struct {
		name   string
		url    string
		opts   *wsrpc.DialOptions
		status int    // HandshakeError status; 0: another error
		want   string // in the error text
	}{
		{"refused origin", refusing, &wsrpc.DialOptions{Origin: "http://evil.example"}, http.StatusForbidden, "403 Forbidden"},
		{"not a websocket endpoint", wsURL(plain), nil, http.StatusNotFound, "404 Not Found"},
		{"http scheme", "http://127.0.0.1:1/", nil, 0, `unsupported URL scheme "http"`},
		{"bad URL keeps the password out", "ws://user:secret@127.0.0.1:bad port/", nil, 0, "invalid URL"},
		{"connection refused", "ws://user:secret@127.0.0.1:1/", nil, 0, "ws://127.0.0.1:1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := wsrpc.Dial(context.Background(), tt.url, tt.opts)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			var he *wsrpc.HandshakeError
			if errors.As(err, &he) != (tt.status != 0) || he != nil && he.StatusCode != tt.status {
				t.Errorf("err = %#v, want a HandshakeError with status %d: %v", err, tt.status, err)
			}
			if he != nil && !errors.Is(err, websocket.ErrBadHandshake) {
				t.Errorf("HandshakeError does not wrap websocket.ErrBadHandshake")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q: want it to contain %q and no password", err, tt.want)
			}
		})
	}
}

// TestDialTLS: wss:// URLs work with the given TLS configuration.
func TestDialTLS(t *testing.T) {
	ts := httptest.NewTLSServer(wsrpc.NewHandler(rpctest.NewServer(t, nil), nil))
	defer ts.Close()
	tlsConfig := ts.Client().Transport.(*http.Transport).TLSClientConfig
	c, err := wsrpc.Dial(context.Background(), "wss"+strings.TrimPrefix(ts.URL, "https"), &wsrpc.DialOptions{TLSClientConfig: tlsConfig})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sum int
	if err := c.Call(context.Background(), &sum, "test_add", 1, 2); err != nil || sum != 3 {
		t.Fatalf("test_add over wss = %d, %v", sum, err)
	}
}
