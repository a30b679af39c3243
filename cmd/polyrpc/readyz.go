package main

import (
	"encoding/json"
	"net/http"
)

// readiness is the body of /readyz.
type readiness struct {
	Status string `json:"status"`
	Node   string `json:"node,omitempty"` // --node.name
	Error  string `json:"error,omitempty"`
}

// readyHandler answers /readyz: 200 {"status":"ready","node":NAME} while the node can serve,
// 503 {"status":"not ready","node":NAME,"error":…} while ready (nil: always ready) reports an error, such as
// an unreachable broker or a server shutting down.
func readyHandler(node string, ready func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		var err error
		if ready != nil {
			err = ready()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(readiness{Status: "not ready", Node: node, Error: err.Error()})
			return
		}
		json.NewEncoder(w).Encode(readiness{Status: "ready", Node: node})
	}
}
