package httprpc

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// defaultMaxBodyBytes is the default limit on a request body: 5 MiB, go-ethereum's
// defaultBodyLimit.
const defaultMaxBodyBytes = 5 * 1024 * 1024

// Options configures the handler returned by [NewHandler]. The zero value, and a nil *Options,
// give the defaults documented on each field.
type Options struct {
	// MaxBodyBytes bounds a request body. A larger declared Content-Length, or a chunked body
	// that grows past it, is refused with 413. Default 5 MiB (5,242,880 bytes, as go-ethereum);
	// negative: no limit (the server's request-bytes budget still applies).
	MaxBodyBytes int

	// WriteTimeout is the write timeout of the http.Server in front of the handler. Each
	// request's calls get a deadline a little before it (see the package documentation) so that
	// a slow call is answered -32002 "request timed out" while the response can still be
	// written. The serving http.Server's own WriteTimeout, when shorter, wins. Default
	// DefaultTimeouts.Write (30 s); negative: no deadline from this option.
	WriteTimeout time.Duration

	// VirtualHosts lists the host names (go-ethereum's --http.vhosts) accepted in the Host
	// header; "*" accepts any. A request with an empty Host or an IP literal is always accepted.
	// Others get 403. nil means ["localhost"]; an empty non-nil slice accepts IP literals only.
	VirtualHosts []string

	// CORSOrigins lists the origins (go-ethereum's --http.corsdomain) that browsers may call
	// from: exact origins such as "https://app.example", patterns with one "*" such as
	// "https://*.example", or "*" for any. Empty: no CORS headers are sent.
	CORSOrigins []string

	// Namespaces, when non-nil, lists the namespaces callable over this handler (go-ethereum's
	// --http.api); other methods answer -32601. The rpc namespace is always callable.
	// nil: every namespace.
	Namespaces []string

	// SSEKeepAlive is the interval of the comments that keep an idle event stream (Server-Sent
	// Events) open through proxies. Default DefaultSSEKeepAlive (15 s).
	SSEKeepAlive time.Duration

	// Authenticator, when set, runs for each request before its body is read, with the
	// request's headers (a token in the URL's query is not taken: only a WebSocket upgrade
	// takes one). A request it refuses gets 401 with a WWW-Authenticate: Bearer challenge; the
	// principal it returns is the request's session's (rpc.ConnOptions.Principal). nil: no
	// authentication. CORS preflights and the GET health probe are answered before it runs.
	Authenticator rpc.Authenticator

	// Context, when set, returns the context of a request's calls, derived from r.Context():
	// its values reach middlewares and methods (a trace taken from the request's headers, for
	// example). nil: r.Context().
	Context func(r *http.Request) context.Context
}

// config is Options with the defaults applied.
type config struct {
	maxBody      int64 // < 0: no limit
	writeLimit   time.Duration
	vhosts       map[string]bool // nil: any host
	cors         *cors           // nil: CORS disabled
	namespaces   []string
	sseKeepAlive time.Duration
	auth         rpc.Authenticator
	ctx          func(r *http.Request) context.Context // nil: r.Context()
}

func (o *Options) config() config {
	if o == nil {
		o = &Options{}
	}
	c := config{
		maxBody:    int64(o.MaxBodyBytes),
		writeLimit: o.WriteTimeout,
		namespaces: o.Namespaces,
		auth:       o.Authenticator,
		ctx:        o.Context,
	}
	if c.maxBody == 0 {
		c.maxBody = defaultMaxBodyBytes
	}
	if c.sseKeepAlive = o.SSEKeepAlive; c.sseKeepAlive <= 0 {
		c.sseKeepAlive = DefaultSSEKeepAlive
	}
	if c.writeLimit == 0 {
		c.writeLimit = DefaultTimeouts.Write
	}
	c.vhosts = vhostSet(o.VirtualHosts)
	if len(o.CORSOrigins) > 0 {
		c.cors = newCORS(o.CORSOrigins)
	}
	if c.namespaces != nil {
		c.namespaces = append([]string(nil), c.namespaces...)
	}
	return c
}

// vhostSet returns the accepted host names, lowercased; nil when any host is accepted.
func vhostSet(hosts []string) map[string]bool {
	if hosts == nil {
		hosts = []string{"localhost"}
	}
	set := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "*" {
			return nil
		}
		set[h] = true
	}
	return set
}

// context returns the context of r's calls.
func (c *config) context(r *http.Request) context.Context {
	if c.ctx != nil {
		return c.ctx(r)
	}
	return r.Context()
}
