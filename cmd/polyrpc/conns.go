package main

import (
	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/services"
	"github.com/polyrpc/polyrpc/rpc"
)

// liveConns lists the server's live connections for the admin service.
func liveConns(srv *rpc.Server) []services.Conn {
	conns := srv.Conns()
	out := make([]services.Conn, len(conns))
	for i, c := range conns {
		out[i] = services.Conn{
			Transport:     c.Peer.Transport,
			RemoteAddr:    c.Peer.RemoteAddr,
			UserAgent:     c.Peer.UserAgent,
			Origin:        c.Peer.Origin,
			Subscriptions: c.Subscriptions,
			Since:         c.Since,
		}
	}
	return out
}
