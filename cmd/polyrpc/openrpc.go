package main

import (
	"github.com/go-chi/chi/v5"

	"github.com/polyrpc/polyrpc/rpc"
)

// mountOpenRPC serves GET /openrpc.json.
// TEMPORARY: rpc.Server.OpenRPC is not there yet; the route is added once it is.
func mountOpenRPC(r chi.Router, srv *rpc.Server, cfg *serveConfig, serveHTTP bool) {}
