package httprpc

import (
	"net/http"
	"strings"
)

// corsMaxAge is how long browsers may cache a preflight answer, in seconds (go-ethereum's 600).
const corsMaxAge = "600"

// cors answers preflight requests and marks the answers to allowed origins.
type cors struct {
	any      bool            // "*" was listed
	exact    map[string]bool // lowercased origins
	patterns []originPattern // origins with one "*"
}

// originPattern is an allowed origin with one wildcard: prefix*suffix.
type originPattern struct{ prefix, suffix string }

func newCORS(origins []string) *cors {
	c := &cors{exact: make(map[string]bool)}
	for _, o := range origins {
		o = strings.ToLower(strings.TrimSpace(o))
		switch {
		case o == "*":
			c.any = true
		case strings.Count(o, "*") == 1:
			i := strings.IndexByte(o, '*')
			c.patterns = append(c.patterns, originPattern{o[:i], o[i+1:]})
		case o != "":
			c.exact[o] = true
		}
	}
	return c
}

func (c *cors) allowed(origin string) bool {
	if c.any {
		return true
	}
	origin = strings.ToLower(origin)
	if c.exact[origin] {
		return true
	}
	for _, p := range c.patterns {
		if len(origin) >= len(p.prefix)+len(p.suffix) &&
			strings.HasPrefix(origin, p.prefix) && strings.HasSuffix(origin, p.suffix) {
			return true
		}
	}
	return false
}

// allowOrigin is the Access-Control-Allow-Origin value for an allowed origin.
func (c *cors) allowOrigin(origin string) string {
	if c.any {
		return "*"
	}
	return origin
}

// handle sets the CORS headers of a response and reports whether it answered the request (a
// preflight: OPTIONS with Access-Control-Request-Method). A preflight from an origin that is
// not allowed, or for a method other than POST, GET and OPTIONS, is answered 204 without CORS
// headers, which the browser takes as a refusal.
func (c *cors) handle(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	origin := r.Header.Get("Origin")
	reqMethod := r.Header.Get("Access-Control-Request-Method")
	if r.Method == http.MethodOptions && reqMethod != "" {
		h.Add("Vary", "Origin")
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		if origin != "" && c.allowed(origin) && isAllowedMethod(strings.ToUpper(reqMethod)) {
			h.Set("Access-Control-Allow-Origin", c.allowOrigin(origin))
			h.Set("Access-Control-Allow-Methods", allowedMethods)
			if reqHeaders := r.Header.Values("Access-Control-Request-Headers"); len(reqHeaders) > 0 {
				h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
			}
			h.Set("Access-Control-Max-Age", corsMaxAge)
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Add("Vary", "Origin")
	if origin != "" && c.allowed(origin) {
		h.Set("Access-Control-Allow-Origin", c.allowOrigin(origin))
	}
	return false
}
