package wsrpc

import (
	"net/http"
	"slices"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
)

// NewHandler returns an http.Handler that upgrades each request to a WebSocket connection and
// serves it with srv until either side closes it or srv stops; ServeHTTP returns then. A nil
// opts gives the defaults.
//
// The handler answers a request that is not a WebSocket upgrade with 426 Upgrade Required; use
// [IsUpgrade] to serve plain HTTP on the same address. A refused origin gets 403, a malformed
// handshake 400 (405 for a method other than GET), all before the upgrade.
func NewHandler(srv *rpc.Server, opts *Options) http.Handler {
	if opts == nil {
		opts = &Options{}
	}
	h := &handler{
		srv:        srv,
		cfg:        opts.connConfig(),
		namespaces: slices.Clone(opts.Namespaces),
	}
	origins := newOriginPolicy(opts.Origins)
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout:  h.cfg.writeTimeout,
		WriteBufferSize:   bufferSize,
		WriteBufferPool:   writeBufferPool,
		CheckOrigin:       origins.allow,
		EnableCompression: !opts.DisableCompression,
	}
	return h
}

// IsUpgrade reports whether r asks for a WebSocket upgrade (Connection: upgrade and Upgrade:
// websocket), so that one address can serve both transports, as go-ethereum's node does:
//
//	ws := wsrpc.NewHandler(srv, nil)
//	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
//		if wsrpc.IsUpgrade(r) {
//			ws.ServeHTTP(w, r)
//			return
//		}
//		httpHandler.ServeHTTP(w, r)
//	})
func IsUpgrade(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }

type handler struct {
	srv        *rpc.Server
	cfg        connConfig
	namespaces []string
	upgrader   websocket.Upgrader
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !IsUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		http.Error(w, "wsrpc: this endpoint only accepts WebSocket connections", http.StatusUpgradeRequired)
		return
	}
	hj := &hijacker{ResponseWriter: w}
	ws, err := h.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		return // the upgrader has answered with the HTTP error
	}
	// The rpc server calls Close on a healthy connection only when it stops. ServeConn's error
	// only tells how the connection ended; there is no one left to tell.
	c := newConn(ws, h.cfg, h.srv.RequestBudget(), websocket.CloseGoingAway, "server stopped")
	c.burst = hj.conn
	_ = h.srv.ServeConn(c, rpc.ConnOptions{
		Peer: rpc.PeerInfo{
			Transport:  rpc.TransportWS,
			RemoteAddr: r.RemoteAddr,
			Host:       r.Host,
			Origin:     r.Header.Get("Origin"),
			UserAgent:  r.UserAgent(),
		},
		Namespaces: h.namespaces,
	})
}
