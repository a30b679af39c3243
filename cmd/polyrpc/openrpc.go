package main

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/polyrpc/polyrpc/rpc"
)

// mountOpenRPC serves GET /openrpc.json: the OpenRPC document of the namespaces offered on
// this port (those of HTTP, or of WebSocket on a WebSocket-only port), as rpc.discover
// answers there.
func mountOpenRPC(r chi.Router, srv *rpc.Server, cfg *serveConfig, serveHTTP bool) {
	namespaces := cfg.wsAPI
	if serveHTTP {
		namespaces = cfg.httpAPI
	}
	r.Get("/openrpc.json", func(w http.ResponseWriter, _ *http.Request) {
		doc, err := srv.OpenRPC(namespaces)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(doc)
	})
}
