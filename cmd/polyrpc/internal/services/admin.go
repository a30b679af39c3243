package services

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/stats"
)

// Conn describes one live connection of the server, as admin_peers reports it.
type Conn struct {
	Transport     string    `json:"transport"`
	RemoteAddr    string    `json:"remoteAddress,omitempty"`
	UserAgent     string    `json:"userAgent,omitempty"`
	Origin        string    `json:"origin,omitempty"`
	Subscriptions int       `json:"subscriptions"`
	Since         time.Time `json:"since"`
}

// Endpoint is one address the server listens on.
type Endpoint struct {
	Transport string `json:"transport"` // http, ws or ipc
	Address   string `json:"address"`   // a URL or a socket path
}

// Admin answers questions about the running node. Create it with [NewAdmin], tell it its
// endpoints with AddEndpoint once they are open, and register [Admin.API] as namespace admin.
type Admin struct {
	version string
	started time.Time
	conns   func() []Conn
	now     func() time.Time

	mu        sync.Mutex
	endpoints []Endpoint
	name      string
	stats     func() stats.Stats // nil: admin_stats is unavailable
}

// NewAdmin returns the admin service of a node of the given version; conns lists the live
// connections (nil: none known).
func NewAdmin(version string, conns func() []Conn) *Admin {
	if conns == nil {
		conns = func() []Conn { return nil }
	}
	return &Admin{version: version, started: time.Now(), conns: conns, now: time.Now}
}

// SetName sets the node's name, which admin_nodeInfo reports ("polyrpc" until set).
func (a *Admin) SetName(name string) {
	a.mu.Lock()
	a.name = name
	a.mu.Unlock()
}

// SetStats gives admin_stats its figures.
func (a *Admin) SetStats(f func() stats.Stats) {
	a.mu.Lock()
	a.stats = f
	a.mu.Unlock()
}

// AddEndpoint records an endpoint the node serves on.
func (a *Admin) AddEndpoint(transport, address string) {
	a.mu.Lock()
	a.endpoints = append(a.endpoints, Endpoint{transport, address})
	a.mu.Unlock()
}

// API returns the receiver to register as namespace admin: admin_nodeInfo and admin_peers.
func (a *Admin) API() any { return adminAPI{a} }

// NodeInfo is the answer of admin_nodeInfo.
type NodeInfo struct {
	Name          string                    `json:"name"`
	Version       string                    `json:"version"`
	Endpoints     []Endpoint                `json:"endpoints"`
	Started       time.Time                 `json:"started"`
	UptimeSeconds float64                   `json:"uptimeSeconds"`
	Uptime        string                    `json:"uptime"`
	Transports    map[string]TransportStats `json:"transports"`
}

// TransportStats counts the live connections of one transport and their subscriptions.
type TransportStats struct {
	Connections   int `json:"connections"`
	Subscriptions int `json:"subscriptions"`
}

// Peer is one entry of admin_peers.
type Peer struct {
	Conn
	ConnectedSeconds float64 `json:"connectedSeconds"`
}

type adminAPI struct{ a *Admin }

// NodeInfo reports the node's version, endpoints and uptime, and the live connections and
// subscriptions of each transport.
func (api adminAPI) NodeInfo() NodeInfo {
	a := api.a
	a.mu.Lock()
	eps := slices.Clone(a.endpoints)
	name := cmp.Or(a.name, "polyrpc")
	a.mu.Unlock()
	if eps == nil {
		eps = []Endpoint{}
	}
	up := a.now().Sub(a.started)
	info := NodeInfo{
		Name:          name,
		Version:       a.version,
		Endpoints:     eps,
		Started:       a.started.UTC().Truncate(time.Second),
		UptimeSeconds: up.Seconds(),
		Uptime:        up.Round(time.Second).String(),
		Transports:    map[string]TransportStats{},
	}
	for _, c := range a.conns() {
		st := info.Transports[c.Transport]
		st.Connections++
		st.Subscriptions += c.Subscriptions
		info.Transports[c.Transport] = st
	}
	return info
}

// Peers lists the live connections, oldest first: transport, remote address, user agent,
// origin, subscriptions and since when.
func (api adminAPI) Peers() []Peer {
	now := api.a.now()
	conns := api.a.conns()
	out := make([]Peer, 0, len(conns))
	for _, c := range conns {
		out = append(out, Peer{Conn: c, ConnectedSeconds: now.Sub(c.Since).Seconds()})
	}
	slices.SortStableFunc(out, func(x, y Peer) int { return cmp.Compare(x.Since.UnixNano(), y.Since.UnixNano()) })
	return out
}

// errNoStats answers admin_stats on a node that counts nothing.
var errNoStats = errors.New("this node collects no statistics")

// Stats reports the node's calls per transport and method (totals, calls per second, p50 and
// p99 latency), its errors by code and its connections and subscriptions per transport. Rates
// and latencies cover the time since the previous admin_stats call at least a second ago (or
// since the start): asked every second, they are the last second's.
//
// Errors:
//
//	-32000 the node collects no statistics
func (api adminAPI) Stats() (*stats.Stats, error) {
	api.a.mu.Lock()
	f := api.a.stats
	api.a.mu.Unlock()
	if f == nil {
		return nil, errNoStats
	}
	st := f()
	return &st, nil
}
