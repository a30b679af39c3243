package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/guard/ratelimit"
	"github.com/polyrpc/polyrpc/rpc"
)

func TestTrustedProxiesClient(t *testing.T) {
	trusted, err := parseTrustedProxies("--http.trustedproxies", []string{"127.0.0.1", "10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		peer      string
		forwarded []string // X-Forwarded-For header lines
		want      string   // "" : RemoteAddr kept
	}{
		{"untrusted peer: its header is not believed", "192.0.2.7:4000", []string{"203.0.113.1"}, ""},
		{"trusted peer, no header", "127.0.0.1:4000", nil, ""},
		{"trusted peer, one client", "127.0.0.1:4000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"IPv6 proxy", "[::1]:4000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"chain of proxies: the rightmost untrusted hop", "127.0.0.1:4000", []string{"203.0.113.1, 10.1.2.3"}, "203.0.113.1"},
		{"spoofed entries left of the client are ignored", "127.0.0.1:4000", []string{"198.51.100.9, 203.0.113.1"}, "203.0.113.1"},
		{"several header lines are one list", "127.0.0.1:4000", []string{"198.51.100.9", "203.0.113.1, 10.0.0.1"}, "203.0.113.1"},
		{"every hop a proxy: the farthest", "127.0.0.1:4000", []string{"10.0.0.2, 10.0.0.1"}, "10.0.0.2"},
		{"garbage after the client is the end of the trusted chain", "127.0.0.1:4000", []string{"203.0.113.1, nonsense"}, ""},
		{"garbage left of the client is never read", "127.0.0.1:4000", []string{"nonsense, 203.0.113.1"}, "203.0.113.1"},
		{"an IPv4-mapped client is reported as IPv4", "127.0.0.1:4000", []string{"::ffff:203.0.113.1"}, "203.0.113.1"},
		{"a port in the header is no address", "127.0.0.1:4000", []string{"203.0.113.1:5555"}, ""},
		{"peer without a port", "127.0.0.1", []string{"203.0.113.1"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := trusted.client(tt.peer, tt.forwarded)
			got := ""
			if ok {
				got = a.String()
			}
			if got != tt.want {
				t.Errorf("client(%q, %q) = %q, want %q", tt.peer, tt.forwarded, got, tt.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, tt := range []struct {
		in  []string
		err string
	}{
		{[]string{"10.0.0.0/8", "127.0.0.1", "fd00::/8"}, ""},
		{[]string{"10.0.0.1/8"}, ""}, // masked to 10.0.0.0/8
		{[]string{"proxy.example"}, `invalid --http.trustedproxies: "proxy.example" is neither an address nor a CIDR prefix`},
		{[]string{"10.0.0.0/33"}, "is neither"},
	} {
		_, err := parseTrustedProxies("--http.trustedproxies", tt.in)
		if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: got %v, want %q", tt.in, err, tt.err)
		}
	}
	if _, err := parseServeFlags([]string{"--http.trustedproxies", "10.0.0.0/8,nope"}, io.Discard); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("the flag: got %v", err)
	}
}

// TestTrustedProxiesLimit: behind a trusted proxy, a limit keyed by ip counts each forwarded
// client apart; without the setting, every client behind the proxy shares the proxy's bucket.
func TestTrustedProxiesLimit(t *testing.T) {
	for _, tt := range []struct {
		name    string
		flags   []string
		secondA int // HTTP status of the second client's first call
	}{
		{"trusted", []string{"--http.trustedproxies", "127.0.0.1"}, http.StatusOK},
		{"not trusted", nil, http.StatusTooManyRequests},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeFlags(append([]string{"--dev.testservice"}, tt.flags...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg.httpVHosts = []string{"*"}
			cfg.limits = []ratelimit.Rule{{Methods: []string{"test_add"}, Rate: 0.001, Burst: 1, Key: "ip"}}
			opts := &rpc.Options{}
			var peers []string
			opts.Middleware = append(opts.Middleware, func(next rpc.Handler) rpc.Handler {
				return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
					peers = append(peers, c.Conn.Peer.RemoteAddr)
					return next(ctx, c)
				}
			})
			if err := cfg.addLimiter(opts); err != nil {
				t.Fatal(err)
			}
			srv := rpc.NewServer(opts)
			t.Cleanup(srv.Stop)
			if _, err := registerServices(srv, false, true); err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(newRouter(srv, cfg, true, true))
			t.Cleanup(hs.Close)
			call := func(client string) int {
				req, _ := http.NewRequest("POST", hs.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", client)
				resp, err := hs.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			got := []int{call("203.0.113.1"), call("203.0.113.1"), call("203.0.113.2")}
			want := []int{http.StatusOK, http.StatusTooManyRequests, tt.secondA}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("call %d: status %d, want %d", i+1, got[i], want[i])
				}
			}
			if len(peers) == 0 {
				t.Fatal("the middleware saw no call")
			}
			if wantPeer := "203.0.113.1:0"; tt.flags != nil && peers[0] != wantPeer {
				t.Errorf("the call's peer is %q, want %q", peers[0], wantPeer)
			}
			if tt.flags == nil && !strings.HasPrefix(peers[0], "127.0.0.1:") {
				t.Errorf("the call's peer is %q, want the proxy's address", peers[0])
			}
		})
	}
}
