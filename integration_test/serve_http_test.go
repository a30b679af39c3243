package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports"
)

// dialClient connects an rpc.Client to endpoint; it is closed when the test ends.
func dialClient(t *testing.T, endpoint string, opts *transports.Options) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := transports.Dial(ctx, endpoint, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestHTTPSurface: what the router serves besides JSON-RPC: the browser console for browsers,
// go-ethereum's empty 200 for other GETs of /, the console's assets, /openrpc.json.
func TestHTTPSurface(t *testing.T) {
	s := startServer(t)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range []struct {
		path, accept string
		status       int
		contentType  string // prefix
		has, hasNot  string
	}{
		{"/", "text/html,application/xhtml+xml,*/*;q=0.8", 200, "text/html", "<html", ""},
		{"/", "", 200, "", "", "<html"},
		{"/app.js", "*/*", 200, "text/javascript", "", ""},
		{"/jsonrpc.js", "*/*", 200, "text/javascript", "", ""},
		{"/missing.js", "*/*", 404, "", "", ""},
		{"/openrpc.json", "", 200, "application/json", `"chat_send"`, "admin_"},
		{"/health", "", 200, "application/json", `"ok"`, ""},
	} {
		req, _ := http.NewRequest("GET", s.HTTP+tt.path, nil)
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) ||
			!strings.Contains(string(body), tt.has) || (tt.hasNot != "" && strings.Contains(string(body), tt.hasNot)) {
			t.Errorf("GET %s (Accept %q): %s %q %.200s", tt.path, tt.accept, resp.Status, resp.Header.Get("Content-Type"), body)
		}
	}
	var doc struct {
		OpenRPC string `json:"openrpc"`
	}
	resp, err := client.Get(s.HTTP + "/openrpc.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.OpenRPC == "" {
		t.Errorf("/openrpc.json is not an OpenRPC document: %v %+v", err, doc)
	}
}

// TestAdmin: admin is offered over IPC only; it reports the endpoints and the live
// connections with their transport, user agent and subscriptions.
func TestAdmin(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws := dialClient(t, s.WS, &transports.Options{Header: http.Header{"User-Agent": {"admin-test/1"}}})
	ch := make(chan json.RawMessage, 4)
	sub, err := ws.Subscribe(ctx, "chat", ch, "messages", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	for _, ep := range []string{s.HTTP, s.WS} {
		var e *rpc.Error
		c := dialClient(t, ep, nil)
		if err := c.Call(ctx, nil, "admin_nodeInfo"); !errors.As(err, &e) || e.Code != rpc.CodeMethodNotFound {
			t.Errorf("admin_nodeInfo over %s: %v, want -32601", ep, err)
		}
		c.Close()
	}
	ipc := dialClient(t, s.IPC, nil)
	var info struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Endpoints []struct {
			Transport, Address string
		} `json:"endpoints"`
		UptimeSeconds float64 `json:"uptimeSeconds"`
		Transports    map[string]struct {
			Connections, Subscriptions int
		} `json:"transports"`
	}
	// Until the server has seen the closed WebSocket client go.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := ipc.Call(ctx, &info, "admin_nodeInfo"); err != nil {
			t.Fatal(err)
		}
		if info.Transports["ws"].Connections == 1 || time.Now().After(deadline) {
			break
		}
	}
	var addrs []string
	for _, e := range info.Endpoints {
		addrs = append(addrs, e.Address)
	}
	if info.Name != "polyrpc" || info.Version == "" || !slices.Equal(addrs, []string{s.HTTP, s.WS, s.IPC}) ||
		info.Transports["ws"].Connections != 1 || info.Transports["ws"].Subscriptions != 1 || info.Transports["ipc"].Connections != 1 {
		t.Errorf("admin_nodeInfo: %+v", info)
	}
	type peer struct {
		Transport     string `json:"transport"`
		RemoteAddress string `json:"remoteAddress"`
		UserAgent     string `json:"userAgent"`
		Subscriptions int    `json:"subscriptions"`
	}
	var peers []peer
	if err := ipc.Call(ctx, &peers, "admin_peers"); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(peers, func(p peer) bool { return p.Transport == "ws" })
	if len(peers) != 2 || i < 0 || peers[i].UserAgent != "admin-test/1" || peers[i].Subscriptions != 1 ||
		!strings.HasPrefix(peers[i].RemoteAddress, "127.0.0.1:") {
		t.Errorf("admin_peers: %+v", peers)
	}
}

// TestChatOverWebSocket: two WebSocket clients; one subscribes to a room, the other sends; the
// subscriber is notified and both see the message in the history.
func TestChatOverWebSocket(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ann, bob := dialClient(t, s.WS, nil), dialClient(t, s.WS, nil)
	type message struct {
		ID         uint64
		Room, Name string
		Text       string
		Time       time.Time
	}
	ch := make(chan message, 4)
	sub, err := bob.Subscribe(ctx, "chat", ch, "messages", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	var sent message
	if err := ann.Call(ctx, &sent, "chat_send", "lobby", "ann", "hello bob"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if got != sent || got.Text != "hello bob" || got.Time.IsZero() {
			t.Errorf("notified %+v, sent %+v", got, sent)
		}
	case err := <-sub.Err():
		t.Fatalf("subscription ended: %v", err)
	case <-ctx.Done():
		t.Fatal("no notification")
	}
	for _, c := range []*rpc.Client{ann, bob} {
		var hist []message
		if err := c.CallNamed(ctx, &hist, "chat_history", map[string]any{"room": "lobby", "limit": 10}); err != nil || len(hist) != 1 || hist[0] != sent {
			t.Errorf("history %+v, %v", hist, err)
		}
	}
}

// TestShutdownEndsSubscriptions: on SIGTERM a call in flight is still answered, live
// subscriptions end, and the process exits 0 having removed its socket (checked by stop).
func TestShutdownEndsSubscriptions(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws := dialClient(t, s.WS, nil)
	ch := make(chan json.RawMessage, 4)
	sub, err := ws.Subscribe(ctx, "chat", ch, "messages", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	ipc := dialClient(t, s.IPC, nil)
	answered := make(chan error, 1)
	go func() { answered <- ipc.Call(ctx, nil, "test_sleep", 700) }()
	time.Sleep(200 * time.Millisecond) // the call has started
	s.stop(t)
	if err := <-answered; err != nil {
		t.Errorf("call in flight at SIGTERM: %v", err)
	}
	select {
	case <-sub.Err():
	case <-ctx.Done():
		t.Error("the subscription did not end when the server stopped")
	}
}
