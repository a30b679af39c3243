package httprpc_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// post builds a JSON-RPC POST to localhost for handler tests that need no network.
func post(body string) *http.Request {
	r := newRequest(http.MethodPost, body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// newRequest builds a request to localhost for handler tests that need no network.
func newRequest(method, body string) *http.Request {
	r := httptest.NewRequest(method, "http://localhost/", strings.NewReader(body))
	return r
}

func TestVirtualHosts(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	tests := []struct {
		vhosts []string
		host   string
		ok     bool
	}{
		{nil, "localhost", true},
		{nil, "localhost:8545", true},
		{nil, "LocalHost:8545", true},
		{nil, "", true},
		{nil, "127.0.0.1:8545", true},
		{nil, "10.1.2.3", true},
		{nil, "[::1]:8545", true},
		{nil, "[::1]", true},
		{nil, "example.com", false},
		{nil, "localhost.example.com", false},
		{nil, "localhost:", true},
		{nil, "localhost:8545:1", false},
		{nil, "[localhost]:8545", true}, // as net.SplitHostPort reads it
		{nil, "[::1]x", false},
		{[]string{"RPC.Example"}, "rpc.example:443", true},
		{[]string{"rpc.example"}, "localhost", false},
		{[]string{"rpc.example", "*"}, "anything.example", true},
		{[]string{}, "localhost", false},
		{[]string{}, "192.168.0.1:80", true},
	}
	for _, tt := range tests {
		h := httprpc.NewHandler(srv, &httprpc.Options{VirtualHosts: tt.vhosts})
		r := post(addCall)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch {
		case tt.ok && w.Code != http.StatusOK:
			t.Errorf("vhosts %q, Host %q: status %d, want 200", tt.vhosts, tt.host, w.Code)
		case !tt.ok && (w.Code != http.StatusForbidden || strings.TrimSpace(w.Body.String()) != "invalid host specified"):
			t.Errorf("vhosts %q, Host %q: %d %q, want 403 invalid host specified", tt.vhosts, tt.host, w.Code, w.Body)
		}
	}
}
