package main

import (
	"encoding/json"
	"net/http"
)

// readyHandler answers /readyz: 200 {"status":"ready"} while the node can serve, 503
// {"status":"not ready","error":…} while ready (nil: always ready) reports an error, such as
// an unreachable broker or a server shutting down.
func readyHandler(ready func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		var err error
		if ready != nil {
			err = ready()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "not ready", "error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "ready"})
	}
}
