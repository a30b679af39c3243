package main

import (
	"encoding/json"
	"net/http"
	"runtime"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// newRouter composes the HTTP surface with chi: JSON-RPC over POST on /, WebSocket upgrades on /
// and /ws, GET /health; with --dev.debug also /debug/pprof/ and /debug/stats.
func newRouter(srv *rpc.Server, cfg *serveConfig, serveHTTP, serveWS bool) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	var rpcH, wsH http.Handler
	if serveHTTP {
		rpcH = httprpc.NewHandler(srv, &httprpc.Options{
			Namespaces:   cfg.httpAPI,
			CORSOrigins:  cfg.httpCORS,
			VirtualHosts: cfg.httpVHosts,
		})
	}
	if serveWS {
		wsH = wsrpc.NewHandler(srv, &wsrpc.Options{Namespaces: cfg.wsAPI, Origins: cfg.wsOrigins})
	}
	root := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case wsH != nil && wsrpc.IsUpgrade(req):
			wsH.ServeHTTP(w, req)
		case rpcH != nil:
			rpcH.ServeHTTP(w, req)
		default:
			http.Error(w, "this port serves WebSocket only", http.StatusUpgradeRequired)
		}
	})
	r.Handle("/", root)
	if wsH != nil {
		r.Handle("/ws", wsH)
	}
	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
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
