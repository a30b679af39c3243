package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// trustedProxies is --http.trustedproxies: the load balancers and reverse proxies whose
// X-Forwarded-For header names the client. Behind one, every request comes from the proxy's
// address, so the access log, the hooks' peer and the [[limits]] keyed by "ip" would all see
// the proxy; with it, they see the client the proxy forwarded.
type trustedProxies []netip.Prefix

// parseTrustedProxies reads a list of addresses and CIDR prefixes ("10.0.0.0/8", "127.0.0.1",
// "::1"); name is the setting's name for messages.
func parseTrustedProxies(name string, list []string) (trustedProxies, error) {
	var out trustedProxies
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("invalid %s: %q is neither an address nor a CIDR prefix", name, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// trusts reports whether addr belongs to a trusted proxy.
func (t trustedProxies) trusts(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range t {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// client returns the address of the client behind the proxies of a request that came from
// peer (its RemoteAddr): the rightmost address of X-Forwarded-For that is not a trusted
// proxy. Addresses left of it were written by the client itself and are not believed. It
// reports false when peer is not a trusted proxy, or the header names no valid address.
func (t trustedProxies) client(peer string, forwarded []string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !t.trusts(addr) {
		return netip.Addr{}, false
	}
	var found netip.Addr
	for i := len(forwarded) - 1; i >= 0; i-- {
		hops := strings.Split(forwarded[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return found, found.IsValid() // a hop that is no address ends the trusted chain
			}
			found = a.Unmap()
			if !t.trusts(a) {
				return found, true
			}
		}
	}
	return found, found.IsValid() // every hop is a proxy: the leftmost is the nearest to the client
}

// middleware rewrites the RemoteAddr of a request from a trusted proxy to the client's
// address (with port 0: the proxy does not forward the client's port), before any handler
// reads it. A request from any other peer keeps its RemoteAddr, whatever its headers say.
func (t trustedProxies) middleware(next http.Handler) http.Handler {
	if len(t) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := t.client(r.RemoteAddr, r.Header.Values("X-Forwarded-For")); ok {
			r.RemoteAddr = netip.AddrPortFrom(a, 0).String()
		}
		next.ServeHTTP(w, r)
	})
}
