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
