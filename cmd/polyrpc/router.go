package main

import (
	"encoding/json"
	"mime"
	"net/http"
	"runtime"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
	"github.com/polyrpc/polyrpc/web"
)

// newRouter composes the HTTP surface with chi:
//
//   - POST / (and OPTIONS for CORS): JSON-RPC over HTTP; with Accept: text/event-stream, a
//     subscription as Server-Sent Events, and GET /events?method=…&params=… the same for
//     EventSource;
//   - WebSocket upgrades on / and /ws;
//   - GET / from a browser (Accept: text/html): the browser console (package web), and GET of
//     its assets (/app.js, /style.css, …); a GET / that does not ask for HTML (curl, load
//     balancer probes) keeps go-ethereum's answer, 200 with an empty body;
//   - GET /favicon.ico: the console's icon, which browsers ask for on any page of the port
//     (served by HTTP-only ports too, so that they do not log a 404);
//   - GET /openrpc.json: the OpenRPC document of the methods offered over HTTP;
//   - GET /healthz (and /health): liveness, {"status":"ok"};
//   - GET /readyz: readiness, 200 {"status":"ready"}, or 503 {"status":"not ready","error":…}
//     while the node is starting, while it drains on SIGTERM, or while the chat's broker is
//     unreachable (for load balancers' health checks);
//   - with --dev.debug, /debug/pprof/ and /debug/stats.
//
// The console is served where WebSocket is, since the page talks to the host that served it.
func newRouter(srv *rpc.Server, cfg *serveConfig, serveHTTP, serveWS bool) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, cfg.proxies.middleware)
	var rpcH, wsH, webH http.Handler
	if serveHTTP {
		rpcH = cfg.limitHTTP(httprpc.NewHandler(srv, &httprpc.Options{
			Namespaces:    cfg.httpAPI,
			CORSOrigins:   cfg.httpCORS,
			VirtualHosts:  cfg.httpVHosts,
			Authenticator: cfg.tls.authenticator(),
		}))
	}
	if serveWS {
		wsH = wsrpc.NewHandler(srv, &wsrpc.Options{Namespaces: cfg.wsAPI, Origins: cfg.wsOrigins,
			Authenticator: cfg.tls.authenticator()})
		webH = web.Handler()
	}
	root := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case wsH != nil && wsrpc.IsUpgrade(req):
			wsH.ServeHTTP(w, req)
		case webH != nil && (req.Method == http.MethodGet || req.Method == http.MethodHead) && wantsHTML(req):
			webH.ServeHTTP(w, req)
		case rpcH != nil:
			rpcH.ServeHTTP(w, req)
		default:
			http.Error(w, "this port serves WebSocket only", http.StatusUpgradeRequired)
		}
	})
	r.Handle("/", root)
	if rpcH != nil {
		// EventSource's endpoint: GET /events?method=…&params=… is an event stream whatever
		// its Accept header says.
		r.Get("/events", func(w http.ResponseWriter, req *http.Request) {
			req.Header.Set("Accept", "text/event-stream")
			rpcH.ServeHTTP(w, req)
		})
	}
	if wsH != nil {
		r.Handle("/ws", wsH)
	}
	if webH != nil {
		// Every other GET is an asset of the console (or a 404 from the web handler).
		r.NotFound(func(w http.ResponseWriter, req *http.Request) {
			if req.Method != http.MethodGet && req.Method != http.MethodHead {
				http.NotFound(w, req)
				return
			}
			webH.ServeHTTP(w, req)
		})
	}
	icon := webH
	if icon == nil {
		icon = web.Handler()
	}
	r.Handle("/favicon.ico", icon)
	alive := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	}
	r.Get("/healthz", alive)
	r.Get("/health", alive) // the name before /healthz
	r.Get("/readyz", readyHandler(cfg.nodeName, cfg.ready))
	mountOpenRPC(r, srv, cfg, serveHTTP)
	if cfg.dev.debug {
		r.Mount("/debug", middleware.Profiler())
		r.Get("/debug/stats", func(w http.ResponseWriter, _ *http.Request) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"goroutines": runtime.NumGoroutine(),
				"heapInuse":  ms.HeapInuse,
				"sys":        ms.Sys,
			})
		})
	}
	return r
}

// wantsHTML reports whether the request's Accept header lists text/html, as browsers send for
// a page.
func wantsHTML(req *http.Request) bool {
	for _, v := range req.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/html" {
				return true
			}
		}
	}
	return false
}
