package wsrpc

import (
	"net/http"
	"strings"
)

// originPolicy decides which browser origins may open a connection (see Options.Origins).
type originPolicy struct {
	sameHost bool         // no entries: same-host origins only
	all      bool         // "*" was listed
	rules    []originRule // the other entries that could be parsed
}

// originRule is one parsed Options.Origins entry; an empty part matches anything.
type originRule struct {
	scheme, host, port string
}

// newOriginPolicy parses the allowlist once. Entries that cannot be parsed (a port that is not
// a number, for example) never match.
func newOriginPolicy(origins []string) originPolicy {
	p := originPolicy{sameHost: true}
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		// A list of entries that are all unusable refuses every browser origin rather than
		// fall back to the default.
		p.sameHost = false
		if o == "*" {
			p.all = true
		} else if r, ok := parseOrigin(o); ok {
			p.rules = append(p.rules, r)
		}
	}
	return p
}

// allow reports whether r may be upgraded. A request without an Origin header (or with an
// empty one) does not come from a browser page and is always allowed: non-browser clients can
// send any Origin they like, so checking theirs would protect nothing.
func (p originPolicy) allow(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.all {
		return true
	}
	_, hostport, hasScheme := strings.Cut(origin, "://")
	if p.sameHost {
		// The origin's host[:port] is the Host the request was sent to, as gorilla/websocket's
		// default check has it.
		hostport, _, _ = strings.Cut(hostport, "/")
		return hasScheme && strings.EqualFold(hostport, r.Host)
	}
	o, ok := parseOrigin(origin)
	if !ok || !hasScheme {
		return false
	}
	for _, rule := range p.rules {
		if rule.matches(o) {
			return true
		}
	}
	return false
}

func (r originRule) matches(o originRule) bool {
	return (r.scheme == "" || r.scheme == o.scheme) &&
		(r.host == "" || r.host == o.host) &&
		(r.port == "" || r.port == o.port)
}

// parseOrigin splits "scheme://host:port/path" (scheme, port and path optional; an IPv6 host in
// brackets) into lowercase parts, dropping the path.
func parseOrigin(s string) (originRule, bool) {
	s = strings.ToLower(s)
	var r originRule
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		r.scheme, s = scheme, rest
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	r.host = s
	if strings.HasPrefix(s, "[") { // [v6]:port
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return r, false
		}
		r.host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if rest[0] != ':' {
				return r, false
			}
			r.port = rest[1:]
		}
	} else if strings.Count(s, ":") == 1 {
		r.host, r.port, _ = strings.Cut(s, ":")
	}
	for _, c := range r.port {
		if c < '0' || c > '9' {
			return r, false
		}
	}
	return r, r.host != "" || r.scheme != ""
}
