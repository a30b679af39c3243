package httprpc_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

func TestCORS(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	preflight := func(origin, method, headers string) *http.Request {
		r := newRequest(http.MethodOptions, "")
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		return r
	}
	withOrigin := func(r *http.Request, origin string) *http.Request {
		r.Header.Set("Origin", origin)
		return r
	}
	const (
		app   = "https://app.example"
		other = "https://other.example"
	)
	tests := []struct {
		name    string
		origins []string
		req     *http.Request
		status  int
		header  map[string]string // "" = absent
		vary    string            // a value Vary must list
	}{
		{"disabled", nil, withOrigin(post(addCall), app), 200,
			map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Accept-Encoding"}, ""},
		{"disabled preflight", nil, preflight(app, "POST", ""), 204,
			map[string]string{"Access-Control-Allow-Origin": "", "Allow": "POST, GET, OPTIONS"}, ""},
		{"allowed", []string{app}, withOrigin(post(addCall), app), 200,
			map[string]string{"Access-Control-Allow-Origin": app}, "Origin"},
		{"allowed, case", []string{"HTTPS://APP.example"}, withOrigin(post(addCall), app), 200,
			map[string]string{"Access-Control-Allow-Origin": app}, "Origin"},
		{"not allowed", []string{app}, withOrigin(post(addCall), other), 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, "Origin"},
		{"no origin", []string{app}, post(addCall), 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, "Origin"},
		{"any", []string{"*"}, withOrigin(post(addCall), other), 200,
			map[string]string{"Access-Control-Allow-Origin": "*"}, "Origin"},
		{"pattern", []string{"https://*.example"}, withOrigin(post(addCall), other), 200,
			map[string]string{"Access-Control-Allow-Origin": other}, "Origin"},
		{"pattern, no match", []string{"https://*.example"}, withOrigin(post(addCall), "http://app.example"), 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, "Origin"},
		{"preflight", []string{app}, preflight(app, "POST", "content-type, authorization"), 204,
			map[string]string{
				"Access-Control-Allow-Origin":  app,
				"Access-Control-Allow-Methods": "POST, GET, OPTIONS",
				"Access-Control-Allow-Headers": "content-type, authorization",
				"Access-Control-Max-Age":       "600",
			}, "Access-Control-Request-Headers"},
		{"preflight without headers", []string{"*"}, preflight(app, "GET", ""), 204,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": ""}, "Origin"},
		{"preflight, origin refused", []string{app}, preflight(other, "POST", ""), 204,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}, "Origin"},
		{"preflight, method refused", []string{app}, preflight(app, "PUT", ""), 204,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}, "Origin"},
		{"OPTIONS, not a preflight", []string{app}, withOrigin(newRequest(http.MethodOptions, ""), app), 204,
			map[string]string{"Access-Control-Allow-Origin": app, "Allow": "POST, GET, OPTIONS"}, "Origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			httprpc.NewHandler(srv, &httprpc.Options{CORSOrigins: tt.origins}).ServeHTTP(w, tt.req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			for k, want := range tt.header {
				if got := w.Header().Get(k); got != want || want == "" && w.Header().Values(k) != nil {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tt.vary != "" && !slices.Contains(w.Header().Values("Vary"), tt.vary) {
				t.Errorf("Vary = %q, want it to list %s", w.Header().Values("Vary"), tt.vary)
			}
		})
	}
}
