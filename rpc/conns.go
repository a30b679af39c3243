package rpc

import (
	"sort"
	"time"
)

// ConnInfo describes one live connection (an HTTP request counts as one while it runs).
type ConnInfo struct {
	Peer          PeerInfo
	Subscriptions int       // live subscriptions
	Since         time.Time // when the connection was attached
}

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
		out[i] = ConnInfo{Peer: ss.opts.Peer, Subscriptions: ss.subscriptionCount(), Since: ss.since}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}
