package wsrpc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// TestOrigins: the Origin header is checked against Options.Origins before the upgrade; a
// refused origin gets 403.
func TestOrigins(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	const self = "http://HOST" // HOST stands for the test server's address, 127.0.0.1:port
	tests := []struct {
		name    string
		origins []string
		origin  string // "": no Origin header
		ok      bool
	}{
		{"default, no origin", nil, "", true},
		{"default, same host", nil, self, true},
		{"default, same host, other scheme", nil, "https://HOST", true},
		{"default, foreign", nil, "http://evil.example", false},
		{"default, same address, other port", nil, "http://127.0.0.1:1", false},
		{"empty list is the default", []string{}, self, true},
		{"star, foreign", []string{"*"}, "http://evil.example", true},
		{"list, exact", []string{"https://app.example:8443"}, "https://app.example:8443", true},
		{"list, case-insensitive", []string{"HTTPS://App.Example:8443"}, "https://app.example:8443", true},
		{"list, port left out matches any port", []string{"http://app.example"}, "http://app.example:8080", true},
		{"list, scheme left out matches any scheme", []string{"app.example"}, "https://app.example:1", true},
		{"list, host and port only", []string{"app.example:8443"}, "wss://app.example:8443", true},
		{"list, other scheme", []string{"http://app.example"}, "https://app.example", false},
		{"list, other port", []string{"https://app.example:8443"}, "https://app.example", false},
		{"list, other host", []string{"http://app.example"}, "http://evil.example", false},
		{"list, no origin", []string{"http://app.example"}, "", true},
		{"list replaces same host", []string{"http://app.example"}, self, false},
		{"list, second entry", []string{"http://a.example", "http://[::1]:3000"}, "http://[::1]:3000", true},
		{"list of unusable entries refuses all", []string{"http://app.example:port"}, "http://app.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(wsrpc.NewHandler(srv, &wsrpc.Options{Origins: tt.origins}))
			defer ts.Close()
			header := http.Header{}
			if tt.origin != "" {
				header.Set("Origin", strings.Replace(tt.origin, "HOST", strings.TrimPrefix(ts.URL, "http://"), 1))
			}
			ws, resp, err := websocket.DefaultDialer.Dial(wsURL(ts), header)
			if ws != nil {
				ws.Close()
			}
			switch {
			case tt.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.ok && (err == nil || resp == nil || resp.StatusCode != http.StatusForbidden):
				t.Fatalf("want 403, got err %v, response %v", err, resp)
			}
		})
	}
}

// TestNotUpgrade: requests that are not a valid WebSocket handshake are refused before any
// upgrade, and IsUpgrade tells the two kinds apart.
func TestNotUpgrade(t *testing.T) {
	ts := httptest.NewServer(wsrpc.NewHandler(rpctest.NewServer(t, nil), nil))
	defer ts.Close()
	upgrade := http.Header{"Connection": {"keep-alive, Upgrade"}, "Upgrade": {"WebSocket"}}
	tests := []struct {
		name      string
		method    string
		header    http.Header
		isUpgrade bool
		status    int
	}{
		{"plain GET", http.MethodGet, nil, false, http.StatusUpgradeRequired},
		{"plain POST", http.MethodPost, http.Header{"Content-Type": {"application/json"}}, false, http.StatusUpgradeRequired},
		{"Upgrade without Connection", http.MethodGet, http.Header{"Upgrade": {"websocket"}}, false, http.StatusUpgradeRequired},
		{"upgrade by POST", http.MethodPost, upgrade, true, http.StatusMethodNotAllowed},
		{"upgrade without key and version", http.MethodGet, upgrade, true, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			if got := wsrpc.IsUpgrade(req); got != tt.isUpgrade {
				t.Errorf("IsUpgrade = %v, want %v", got, tt.isUpgrade)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == http.StatusUpgradeRequired && resp.Header.Get("Upgrade") != "websocket" {
				t.Errorf("426 without Upgrade: websocket (headers %v)", resp.Header)
			}
		})
	}
}

// TestSharedAddress: with IsUpgrade one address serves WebSocket and plain HTTP.
func TestSharedAddress(t *testing.T) {
	ws := wsrpc.NewHandler(rpctest.NewServer(t, nil), nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wsrpc.IsUpgrade(r) {
			ws.ServeHTTP(w, r)
			return
		}
		io.WriteString(w, "plain http")
	}))
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "plain http" {
		t.Errorf("plain GET: %q", body)
	}
	w := dialRaw(t, wsURL(ts), nil, nil)
	w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`))
	w.expect(t, `{"jsonrpc":"2.0","id":1,"result":3}`)
}

// TestCompression: permessage-deflate is negotiated with clients that offer it unless the
// handler disables it, and messages of any size cross compressed connections intact.
func TestCompression(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	tests := []struct {
		name    string
		disable bool // Options.DisableCompression
		offer   bool // the client offers compression
		want    bool
	}{
		{"offered", false, true, true},
		{"not offered", false, false, false},
		{"disabled", true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, srv, &wsrpc.Options{DisableCompression: tt.disable})
			w := dialRaw(t, url, &websocket.Dialer{EnableCompression: tt.offer}, nil)
			ext := w.resp.Header.Get("Sec-WebSocket-Extensions")
			if got := strings.Contains(ext, "permessage-deflate"); got != tt.want {
				t.Fatalf("Sec-WebSocket-Extensions %q: negotiated %v, want %v", ext, got, tt.want)
			}
			for _, n := range []int{1, 100, 100_000} { // below and above the compression threshold
				w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_repeat","params":["ab",` + itoa(n) + `]}`))
				w.expect(t, `{"jsonrpc":"2.0","id":1,"result":"`+strings.Repeat("ab", n)+`"}`)
			}
		})
	}
	t.Run("Dial", func(t *testing.T) {
		c, err := wsrpc.Dial(context.Background(), serve(t, srv, nil), &wsrpc.DialOptions{Compression: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var s string
		if err := c.Call(context.Background(), &s, "test_repeat", strings.Repeat("xyz", 10_000), 3); err != nil || s != strings.Repeat("xyz", 30_000) {
			t.Fatalf("test_repeat: %d bytes, %v", len(s), err)
		}
	})
}

// peerService reports the caller's PeerInfo.
type peerService struct{}

func (peerService) Info(ctx context.Context) rpc.PeerInfo { return rpc.PeerInfoFromContext(ctx) }

// TestPeer: methods see the WebSocket peer and the handler's namespace allowlist applies.
func TestPeer(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	if err := srv.Register("peer", peerService{}); err != nil {
		t.Fatal(err)
	}
	url := serve(t, srv, &wsrpc.Options{Namespaces: []string{"test", "peer"}})
	c, err := wsrpc.Dial(context.Background(), url, &wsrpc.DialOptions{
		Header: http.Header{"User-Agent": {"wsrpc-test"}},
		Origin: "http://" + strings.TrimPrefix(url, "ws://"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var transport string
	if err := c.Call(ctx, &transport, "test_peer"); err != nil || transport != rpc.TransportWS {
		t.Fatalf("test_peer = %q, %v; want %q", transport, err, rpc.TransportWS)
	}
	var p rpc.PeerInfo
	if err := c.Call(ctx, &p, "peer_info"); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(url, "ws://")
	if p.Host != host || p.Origin != "http://"+host || p.UserAgent != "wsrpc-test" || !strings.HasPrefix(p.RemoteAddr, "127.0.0.1:") {
		t.Errorf("peer %+v", p)
	}
	var e *rpc.Error
	if err := c.Call(ctx, nil, "get_data"); !errors.As(err, &e) || e.Code != rpc.CodeMethodNotFound {
		t.Errorf("get_data outside the allowed namespaces: %v, want -32601", err)
	}
}
