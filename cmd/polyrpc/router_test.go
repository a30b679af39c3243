package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
)

// newTestHTTP serves the router of a default configuration (with the test service) on a test
// HTTP server.
func newTestHTTP(t *testing.T) *httptest.Server {
	t.Helper()
	cfg, err := parseServeFlags([]string{"--dev.testservice"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.httpVHosts = []string{"*"}
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	if _, err := registerServices(srv, false, true); err != nil {
		t.Fatal(err)
	}
	cfg.httpAPI, cfg.wsAPI = publicNamespaces(srv), publicNamespaces(srv)
	hs := httptest.NewServer(newRouter(srv, cfg, true, true))
	t.Cleanup(hs.Close)
	return hs
}

func TestRouter(t *testing.T) {
	hs := newTestHTTP(t)
	for _, tt := range []struct {
		method, path, accept, body string
		status                     int
		contentType                string // prefix
		bodyHas                    string
	}{
		{"GET", "/", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "", 200, "text/html", "<html"},
		{"GET", "/", "", "", 200, "", ""},
		{"GET", "/", "application/json", "", 200, "", ""},
		{"GET", "/app.js", "*/*", "", 200, "text/javascript", ""},
		{"GET", "/style.css", "", "", 200, "text/css", ""},
		{"GET", "/favicon.ico", "image/avif,image/webp,*/*", "", 200, "image/x-icon", ""},
		{"GET", "/no-such-file.js", "", "", 404, "", ""},
		{"GET", "/health", "", "", 200, "application/json", `{"status":"ok"}`},
		{"GET", "/healthz", "", "", 200, "application/json", `{"status":"ok"}`},
		{"POST", "/", "", `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`, 200, "application/json", `"result":3`},
		{"POST", "/", "", `{"jsonrpc":"2.0","id":1,"method":"admin_nodeInfo"}`, 200, "application/json", `-32601`},
		{"POST", "/", "", `{"jsonrpc":"2.0","id":1,"method":"chat_history","params":["lobby"]}`, 200, "application/json", `"result":[]`},
		{"POST", "/nowhere", "", `{}`, 404, "", ""},
		{"GET", "/openrpc.json", "", "", 200, "application/json", `"chat_send"`},
		{"GET", "/readyz", "", "", 200, "application/json", `{"status":"ready"}`},
		{"POST", "/", "text/event-stream", `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`, 200, "text/event-stream", `data: {"jsonrpc":"2.0","id":1,"result":3}`},
		{"GET", "/events?method=test_add&params=%5B1%2C2%5D", "", "", 200, "text/event-stream", `data: {"jsonrpc":"2.0","id":1,"result":3}`},
	} {
		t.Run(tt.method+" "+tt.path+" "+tt.accept, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), tt.method, hs.URL+tt.path, strings.NewReader(tt.body))
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) || !bytes.Contains(body, []byte(tt.bodyHas)) {
				t.Errorf("%s %s: %s %q %.200s", tt.method, tt.path, resp.Status, resp.Header.Get("Content-Type"), body)
			}
		})
	}
}

// TestOpenRPCNamespaces: /openrpc.json lists what HTTP offers, so not admin.
func TestOpenRPCNamespaces(t *testing.T) {
	hs := newTestHTTP(t)
	resp, err := hs.Client().Get(hs.URL + "/openrpc.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte(`"test_add"`)) || bytes.Contains(body, []byte("admin_")) {
		t.Errorf("openrpc.json: %.300s", body)
	}
}

func TestWantsHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		"text/html":                         true,
		"application/json, text/html;q=0.1": true,
		"*/*":                               false,
		"":                                  false,
		"text/htmlx":                        false,
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Accept", accept)
		if got := wantsHTML(req); got != want {
			t.Errorf("%q: %v", accept, got)
		}
	}
}

func TestPublicNamespaces(t *testing.T) {
	for _, tt := range []struct {
		noBuiltins, testService bool
		want                    string
	}{
		{false, false, "chat,rpc"},
		{false, true, "chat,get,nftest,notify,rpc,test"},
		{true, true, "get,nftest,notify,rpc,test"},
	} {
		srv := rpc.NewServer(nil)
		if _, err := registerServices(srv, tt.noBuiltins, tt.testService); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(publicNamespaces(srv), ","); got != tt.want {
			t.Errorf("%+v: %s", tt, got)
		}
		srv.Stop()
	}
}

func TestReadyz(t *testing.T) {
	for _, tt := range []struct {
		ready  func() error
		status int
		body   string
	}{
		{nil, 200, `{"status":"ready","node":"n1"}`},
		{func() error { return nil }, 200, `{"status":"ready","node":"n1"}`},
		{func() error { return errors.New("broker down") }, 503, `{"status":"not ready","node":"n1","error":"broker down"}`},
	} {
		rec := httptest.NewRecorder()
		readyHandler("n1", tt.ready)(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != tt.status || strings.TrimSpace(rec.Body.String()) != tt.body || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%d %q, want %d %s", rec.Code, rec.Body.String(), tt.status, tt.body)
		}
	}
}
