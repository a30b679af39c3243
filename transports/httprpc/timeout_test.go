package httprpc_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

const timedOut = `{"code":-32002,"message":"request timed out"}`

// TestWriteTimeout: a call that outlives the HTTP server's write timeout is answered -32002
// (HTTP 200) just before it, instead of the connection being dropped; in a batch the items
// already answered keep their results. The write timeout comes from the http.Server itself or
// from Options.WriteTimeout.
func TestWriteTimeout(t *testing.T) {
	rpctest.CheckLeaks(t)
	tests := []struct {
		name          string
		serverTimeout time.Duration // http.Server.WriteTimeout
		opts          *httprpc.Options
		rpcOpts       *rpc.Options
		body          string
		want          string
	}{
		{"http.Server", time.Second, nil, nil,
			`{"jsonrpc":"2.0","id":1,"method":"test_block","params":[3000]}`,
			`{"jsonrpc":"2.0","id":1,"error":` + timedOut + `}`},
		{"option", 0, &httprpc.Options{WriteTimeout: time.Second}, nil,
			`{"jsonrpc":"2.0","id":1,"method":"test_block","params":[3000]}`,
			`{"jsonrpc":"2.0","id":1,"error":` + timedOut + `}`},
		{"shorter wins", time.Second, &httprpc.Options{WriteTimeout: time.Minute}, nil,
			`{"jsonrpc":"2.0","id":"s","method":"test_sleep","params":[3000]}`,
			`{"jsonrpc":"2.0","id":"s","error":` + timedOut + `}`},
		// The server's CallTimeout, shorter than the write timeout, for a method that ignores
		// its context: the answer comes at the call timeout, not when the method returns.
		{"call timeout", time.Minute, nil, &rpc.Options{CallTimeout: 300 * time.Millisecond},
			`{"jsonrpc":"2.0","id":1,"method":"test_block","params":[3000]}`,
			`{"jsonrpc":"2.0","id":1,"error":` + timedOut + `}`},
		{"batch", time.Second, nil, nil,
			`[{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","id":2,"method":"test_block","params":[3000]},{"jsonrpc":"2.0","id":3,"method":"test_add","params":[3,4]}]`,
			`[{"jsonrpc":"2.0","id":1,"result":3},{"jsonrpc":"2.0","id":2,"error":` + timedOut + `},{"jsonrpc":"2.0","id":3,"error":` + timedOut + `}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each waits for its blocked method when its server stops
			srv := rpctest.NewServer(t, tt.rpcOpts)
			ts := httptest.NewUnstartedServer(httprpc.NewHandler(srv, tt.opts))
			ts.Config.WriteTimeout = tt.serverTimeout
			ts.Start()
			defer ts.Close()
			start := time.Now()
			resp, body := request{body: tt.body}.do(t, rawClient(t), ts.URL)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %v", d)
			}
			if resp.StatusCode != 200 || strings.TrimSuffix(string(body), "\n") != tt.want {
				t.Fatalf("%d %s\nwant 200 %s", resp.StatusCode, body, tt.want)
			}
		})
	}
}

// TestWriteTimeoutClient: the Go client gets the -32002 as an *rpc.Error.
func TestWriteTimeoutClient(t *testing.T) {
	rpctest.CheckLeaks(t)
	ts := httptest.NewUnstartedServer(httprpc.NewHandler(rpctest.NewServer(t, nil), nil))
	ts.Config.WriteTimeout = time.Second
	ts.Start()
	defer ts.Close()
	c := dial(t, ts.URL, nil)
	var e *rpc.Error
	if err := c.Call(context.Background(), nil, "test_sleep", 3000); !errors.As(err, &e) || e.Code != rpc.CodeTimeout {
		t.Fatalf("err = %v, want -32002", err)
	}
	// The connection survived: the next call works.
	var sum int
	if err := c.Call(context.Background(), &sum, "test_add", 1, 2); err != nil || sum != 3 {
		t.Fatalf("test_add after the timeout: %d, %v", sum, err)
	}
}

func TestNewHTTPServer(t *testing.T) {
	tests := []struct {
		in, want httprpc.Timeouts
	}{
		{httprpc.Timeouts{}, httprpc.DefaultTimeouts},
		{httprpc.Timeouts{ReadHeader: 999 * time.Millisecond, Read: -1, Write: time.Second, Idle: time.Hour},
			httprpc.Timeouts{ReadHeader: 30 * time.Second, Read: 30 * time.Second, Write: time.Second, Idle: time.Hour}},
	}
	for _, tt := range tests {
		hs := httprpc.NewHTTPServer(nil, tt.in)
		got := httprpc.Timeouts{ReadHeader: hs.ReadHeaderTimeout, Read: hs.ReadTimeout, Write: hs.WriteTimeout, Idle: hs.IdleTimeout}
		if got != tt.want {
			t.Errorf("NewHTTPServer(%+v): timeouts %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if d := httprpc.DefaultTimeouts; d.ReadHeader != 30*time.Second || d.Read != 30*time.Second ||
		d.Write != 30*time.Second || d.Idle != 120*time.Second {
		t.Errorf("DefaultTimeouts = %+v, want go-ethereum's 30s/30s/30s/120s", d)
	}
}
