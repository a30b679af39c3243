package httprpc

import (
	"net"
	"net/netip"
	"strings"
)

// hostAllowed reports whether a request's Host header passes the virtual-host check: an empty
// host and IP literals always pass, as in go-ethereum; other names must be listed (lowercased,
// port stripped) unless any host is accepted.
func (c *config) hostAllowed(hostport string) bool {
	if hostport == "" || c.vhosts == nil {
		return true
	}
	// The common case first, without allocating: a listed name, with or without a port (a
	// hit here is one for the rules below too: listed names are lowercase).
	name := hostport
	if i := strings.IndexByte(name, ':'); i >= 0 && name[0] != '[' && strings.IndexByte(name[i+1:], ':') < 0 {
		name = name[:i]
	}
	if c.vhosts[name] {
		return true
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport // no port
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return c.vhosts[strings.ToLower(host)]
}
