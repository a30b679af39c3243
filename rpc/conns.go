package rpc

import (
	"sort"
	"sync/atomic"
	"time"
)

// ConnInfo describes one live connection (an HTTP request counts as one while it runs). The
// server keeps one per connection, which middlewares ([Call].Conn) and hooks see; [Server.Conns]
// returns copies.
type ConnInfo struct {
	// ID identifies the connection: unique in the process, never 0 for a connection the
	// server attached.
	ID            uint64
	Peer          PeerInfo
	Principal     any       // see ConnOptions.Principal
	Subscriptions int       // live subscriptions; filled in by Server.Conns only
	Since         time.Time // when the connection was attached
}

// connIDs hands out ConnInfo.ID.
var connIDs atomic.Uint64

// Conns lists the server's live connections, oldest first.
func (s *Server) Conns() []ConnInfo {
	s.mu.Lock()
	sessions := make([]*Session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	out := make([]ConnInfo, len(sessions))
	for i, ss := range sessions {
		out[i] = ss.info
		out[i].Subscriptions = ss.subscriptionCount()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
