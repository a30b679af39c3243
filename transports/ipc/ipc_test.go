//go:build unix || windows

package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// Tests shared by every OS. testPath (a fresh socket path or pipe name) is defined per OS.

// peerAPI returns the caller's whole PeerInfo, which the reference service does not.
type peerAPI struct{}

func (peerAPI) Info(ctx context.Context) rpc.PeerInfo { return rpc.PeerInfoFromContext(ctx) }

// start serves a reference server on a fresh path; both are closed when the test ends.
func start(t testing.TB, opts *Options) (*rpc.Server, *Endpoint) {
	t.Helper()
	srv := rpctest.NewServer(t, nil)
	ep, err := Serve(srv, testPath(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return srv, ep
}

// rawConn is a raw connection to path, closed (once) when the test ends.
func rawConn(t testing.TB, path string) *conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{Conn: nc}
	t.Cleanup(func() { c.Close() })
	return c
}

func client(t testing.TB, path string) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// transcriptDir finds rpc/testdata from the package directory (go test) or, when the test
// binary runs elsewhere (under Wine, from the module root), from this file's path.
func transcriptDir() string {
	const rel = "../../rpc/testdata"
	if _, err := os.Stat(rel); err == nil {
		return rel
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), rel)
}

func TestTranscripts(t *testing.T) {
	rpctest.CheckLeaks(t)
	for _, dir := range []string{transcriptDir(), filepath.Join(transcriptDir(), "push"), filepath.Join(transcriptDir(), "twoway")} {
		rpctest.RunTranscripts(t, dir, func(t testing.TB) rpctest.Wire {
			_, ep := start(t, nil)
			return rpctest.NewStreamWire(rawConn(t, ep.Path()))
		})
	}
	rpctest.RunTranscripts(t, filepath.Join(transcriptDir(), "limits"), func(t testing.TB) rpctest.Wire {
		ep, err := Serve(rpctest.NewServer(t, rpctest.LimitsOptions()), testPath(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ep.Close() })
		return rpctest.NewStreamWire(rawConn(t, ep.Path()))
	})
}

func TestClientCalls(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv, ep := start(t, nil)
	if err := srv.Register("peer", peerAPI{}); err != nil {
		t.Fatal(err)
	}
	c := client(t, ep.Path())
	peer, _ := json.Marshal(rpc.PeerInfo{Transport: rpc.TransportIPC, RemoteAddr: ep.Path()})
	tests := []struct {
		method   string
		args     []any
		want     string // the result's JSON, when the call succeeds
		wantCode int    // the error code, when it fails
		wantMsg  string
		wantData string // the error data's JSON
	}{
		{method: "test_add", args: []any{1, 2}, want: `3`},
		{method: "test_echo", args: []any{"x", 7}, want: `{"String":"x","Int":7,"Args":null}`},
		{method: "test_peer", want: `"ipc"`},
		{method: "peer_info", want: string(peer)},
		{method: "rpc_modules", want: `{"get":"1.0","nftest":"1.0","notify":"1.0","peer":"1.0","rpc":"1.0","test":"1.0"}`},
		{method: "test_failCoded", wantCode: -32042, wantMsg: "coded failure", wantData: `{"why":"testing"}`},
		{method: "test_fail", wantCode: rpc.CodeServerError, wantMsg: "plain failure"},
		{method: "test_nope", wantCode: rpc.CodeMethodNotFound},
		{method: "test_add", args: []any{"a", 1}, wantCode: rpc.CodeInvalidParams},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			var got json.RawMessage
			err := c.Call(context.Background(), &got, tt.method, tt.args...)
			if tt.wantCode == 0 {
				if err != nil || string(got) != tt.want {
					t.Fatalf("got %s, %v; want %s", got, err, tt.want)
				}
				return
			}
			var e *rpc.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("err = %v, want code %d", err, tt.wantCode)
			}
			if tt.wantMsg != "" && e.Message != tt.wantMsg {
				t.Errorf("message %q, want %q", e.Message, tt.wantMsg)
			}
			if tt.wantData != "" {
				if d, _ := e.Data.(json.RawMessage); string(d) != tt.wantData {
					t.Errorf("data %v, want %s", e.Data, tt.wantData)
				}
			}
		})
	}
}

func TestBatch(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	c := client(t, ep.Path())
	var sum int
	var data []any
	elems := []rpc.BatchElem{
		{Method: "test_add", Args: []any{2, 3}, Result: &sum},
		{Method: "test_failCoded"},
		{Method: "get_data", Result: &data},
	}
	if err := c.BatchCall(context.Background(), elems); err != nil {
		t.Fatal(err)
	}
	var e *rpc.Error
	switch {
	case elems[0].Error != nil || sum != 5:
		t.Errorf("test_add: %d, %v", sum, elems[0].Error)
	case !errors.As(elems[1].Error, &e) || e.Code != -32042:
		t.Errorf("test_failCoded: %v, want -32042", elems[1].Error)
	case elems[2].Error != nil || len(data) != 2 || data[0] != "hello":
		t.Errorf("get_data: %v, %v", data, elems[2].Error)
	}
}

// TestConcurrentCalls: 32 slow calls share one connection and run at the same time.
func TestConcurrentCalls(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	c := client(t, ep.Path())
	const n, pause = 32, 300 * time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := c.Call(context.Background(), nil, "test_sleep", pause.Milliseconds()); err != nil {
				t.Errorf("test_sleep: %v", err)
			}
			var sum int
			if err := c.Call(context.Background(), &sum, "test_add", i, i); err != nil || sum != 2*i {
				t.Errorf("test_add(%d, %d) = %d, %v", i, i, sum, err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d > n*pause/4 {
		t.Fatalf("%d calls of %v took %v: they did not run concurrently", n, pause, d)
	}
}

func TestNamespaces(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, &Options{Namespaces: []string{"get"}})
	c := client(t, ep.Path())
	var e *rpc.Error
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); !errors.As(err, &e) || e.Code != rpc.CodeMethodNotFound {
		t.Fatalf("test_add outside the exposed namespaces: err = %v, want -32601", err)
	}
	var mods map[string]string
	if err := c.Call(context.Background(), &mods, "rpc_modules"); err != nil || len(mods) != 2 || mods["get"] == "" {
		t.Fatalf("rpc_modules = %v, %v; want get and rpc", mods, err)
	}
}

// TestClose: Close ends live connections (their pending calls fail), stops accepting, and is
// idempotent, also when called concurrently.
func TestClose(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	c := client(t, ep.Path())
	idle := client(t, ep.Path())
	if err := idle.Call(context.Background(), nil, "test_add", 1, 2); err != nil {
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() { pending <- c.Call(context.Background(), nil, "test_sleep", 20_000) }()
	time.Sleep(100 * time.Millisecond) // let the call reach the server

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := ep.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-pending:
		if err == nil {
			t.Fatal("the pending call succeeded after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pending call did not fail after Close")
	}
	if err := idle.Call(context.Background(), nil, "test_add", 1, 2); err == nil {
		t.Fatal("a call on a connection closed by Close succeeded")
	}
	if err := ep.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if c, err := Dial(ctx, ep.Path()); err == nil {
		c.Close()
		t.Fatal("Dial after Close succeeded")
	}
}

// TestServerStop: stopping the rpc.Server drops the IPC connections; the endpoint still closes
// cleanly.
func TestServerStop(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv, ep := start(t, nil)
	c := client(t, ep.Path())
	srv.Stop()
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); err == nil {
		t.Fatal("call after Stop succeeded")
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWriteTimeout: a client that stops reading is disconnected after WriteTimeout.
func TestWriteTimeout(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, &Options{WriteTimeout: 200 * time.Millisecond})
	c := rawConn(t, ep.Path())
	// Answers far larger than the socket's buffer, which this client does not read.
	const size = 8 * 500_000
	req := `{"jsonrpc":"2.0","id":1,"method":"test_repeat","params":["xxxxxxxx",500000]}`
	if _, err := c.Write([]byte(req + req)); err != nil {
		t.Fatal(err)
	}
	// The endpoint accepts the connection, then drops it when a write times out.
	for _, want := range []int{1, 0} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			ep.mu.Lock()
			n := len(ep.conns)
			ep.mu.Unlock()
			if n == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the endpoint holds %d connections, want %d", n, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// What the server wrote before giving up can be read; then the stream ends.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	total := 0
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			if os.IsTimeout(err) {
				t.Fatalf("read: %v; the server should have closed the connection", err)
			}
			break
		}
	}
	if total >= 2*size {
		t.Fatalf("read %d bytes: both answers were delivered", total)
	}
}
