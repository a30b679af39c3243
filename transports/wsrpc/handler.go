package wsrpc

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

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
		auth:       opts.Authenticator,
		ctx:        opts.Context,
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
	auth       rpc.Authenticator
	ctx        func(*http.Request) context.Context
	upgrader   websocket.Upgrader
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !IsUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		http.Error(w, "wsrpc: this endpoint only accepts WebSocket connections", http.StatusUpgradeRequired)
		return
	}
	opts := rpc.ConnOptions{
		Peer: rpc.PeerInfo{
			Transport:  rpc.TransportWS,
			RemoteAddr: r.RemoteAddr,
			Host:       r.Host,
			Origin:     r.Header.Get("Origin"),
			UserAgent:  r.UserAgent(),
		},
		Namespaces: h.namespaces,
	}
	if h.ctx != nil {
		opts.Context = h.ctx(r)
	}
	// A refused origin is left to the upgrader's 403, without running the authenticator.
	if h.auth != nil && h.upgrader.CheckOrigin(r) && !h.authenticate(w, r, &opts) {
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
	c.endsAsEOF = true
	_ = h.srv.ServeConn(c, opts)
}

// authenticate runs the handler's authenticator on the upgrade request r, with its headers and
// its "token" query parameter, and puts the principal and its expiry in opts; it answers 401
// with a WWW-Authenticate challenge before the upgrade, and reports false, when it refuses r.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request, opts *rpc.ConnOptions) bool {
	cred := &rpc.Credentials{Peer: opts.Peer, Header: r.Header, Token: r.URL.Query().Get("token"), TLS: r.TLS}
	principal, expires, err := h.auth.Authenticate(r.Context(), cred)
	if err == nil && !expires.IsZero() && !time.Now().Before(expires) {
		err = errExpired
	}
	if err != nil {
		h.srv.ReportRefusal(opts.Peer, rpc.RefusedAuth)
		challenge := "Bearer"
		if cred.BearerToken() != "" {
			challenge = `Bearer error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
		return false
	}
	opts.Principal, opts.PrincipalExpires = principal, expires
	return true
}

// errExpired refuses a principal that the authenticator returned already expired.
var errExpired = errors.New("the credentials have expired")
