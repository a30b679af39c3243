package main

import (
	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/services"
	"github.com/polyrpc/polyrpc/rpc"
)

// liveConns lists the server's live connections for the admin service.
// TEMPORARY: rpc.Server.Conns is not there yet; until it is, admin reports none.
func liveConns(srv *rpc.Server) []services.Conn { return nil }
