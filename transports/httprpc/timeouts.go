package httprpc

import (
	"net/http"
	"time"
)

// Timeouts are the timeouts of an http.Server serving JSON-RPC; see [NewHTTPServer].
type Timeouts struct {
	ReadHeader time.Duration // reading the request headers (http.Server.ReadHeaderTimeout)
	Read       time.Duration // reading the whole request (http.Server.ReadTimeout)
	Write      time.Duration // from the end of the headers to the end of the response (WriteTimeout)
	Idle       time.Duration // a keep-alive connection waiting for its next request (IdleTimeout)
}

// DefaultTimeouts are go-ethereum's DefaultHTTPTimeouts.
var DefaultTimeouts = Timeouts{
	ReadHeader: 30 * time.Second,
	Read:       30 * time.Second,
	Write:      30 * time.Second,
	Idle:       120 * time.Second,
}

// minTimeout is the smallest timeout NewHTTPServer accepts, as go-ethereum's CheckTimeouts.
const minTimeout = time.Second

// NewHTTPServer returns an http.Server that serves h with the timeouts t. A timeout below one
// second (including zero) is replaced by its value in [DefaultTimeouts], as go-ethereum's
// CheckTimeouts does. The caller sets Addr or calls Serve with a listener.
//
// The handler returned by [NewHandler] reads the server's WriteTimeout from each request, so a
// call that outlives it is answered -32002 in time without setting Options.WriteTimeout.
func NewHTTPServer(h http.Handler, t Timeouts) *http.Server {
	t = t.checked()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
	}
}

// checked replaces every timeout below minTimeout by its default.
func (t Timeouts) checked() Timeouts {
	fix := func(v *time.Duration, def time.Duration) {
		if *v < minTimeout {
			*v = def
		}
	}
	fix(&t.ReadHeader, DefaultTimeouts.ReadHeader)
	fix(&t.Read, DefaultTimeouts.Read)
	fix(&t.Write, DefaultTimeouts.Write)
	fix(&t.Idle, DefaultTimeouts.Idle)
	return t
}

// The margin is how long before the write timeout a call is answered -32002, leaving time to
// write the answer: a quarter of the timeout, at least minWriteMargin (go-ethereum's fixed
// 100 ms) and at most maxWriteMargin, and never more than half the timeout. A margin that grows
// with the timeout keeps the answer in time on a loaded machine, where go-ethereum's fixed
// 100 ms can be missed and the client then sees a dropped connection.
const (
	minWriteMargin = 100 * time.Millisecond
	maxWriteMargin = 2 * time.Second
)

// callDeadline returns the deadline for the calls of a request that starts at now, if any: the
// shorter of the option's write timeout and the serving http.Server's, less the margin.
func (c *config) callDeadline(r *http.Request, now time.Time) (time.Time, bool) {
	wt := c.writeLimit
	if hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && hs.WriteTimeout > 0 {
		if wt <= 0 || hs.WriteTimeout < wt {
			wt = hs.WriteTimeout
		}
	}
	if wt <= 0 {
		return time.Time{}, false
	}
	margin := min(max(wt/4, minWriteMargin), maxWriteMargin, wt/2)
	return now.Add(wt - margin), true
}
