package ratelimit

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// HTTP wraps next, an HTTP JSON-RPC handler (httprpc's) on the server the limiter's middleware
// is in, so that a POST request whose calls the limiter refuses, all of them, is answered 429
// Too Many Requests with a Retry-After header (the longest wait of its calls, in seconds,
// rounded up) rather than 200; the body is the JSON-RPC answer all the same. Other requests
// (WebSocket upgrades, event streams, partly refused batches) pass as they are.
func (l *Limiter) HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		t := &tally{}
		next.ServeHTTP(&tallyWriter{ResponseWriter: w, t: t}, r.WithContext(context.WithValue(r.Context(), tallyKey{}, t)))
	})
}

type tallyKey struct{}

// tally counts the refusals of one HTTP request's calls.
type tally struct {
	mu      sync.Mutex
	calls   int // the calls of the request: its batch's size, else 1
	refusal int // the calls refused
	wait    time.Duration
}

// tallyOf returns the tally of the HTTP request the call c belongs to, or nil.
func tallyOf(ctx context.Context, c *rpc.Call) *tally {
	if c.Conn.Peer.Transport != rpc.TransportHTTP {
		return nil
	}
	t, _ := ctx.Value(tallyKey{}).(*tally)
	return t
}

func (t *tally) expect(n int) {
	t.mu.Lock()
	t.calls = n
	t.mu.Unlock()
}

func (t *tally) refused(wait time.Duration) {
	t.mu.Lock()
	t.refusal++
	t.wait = max(t.wait, wait)
	t.mu.Unlock()
}

// whole reports whether every call of the request was refused, and the longest wait.
func (t *tally) whole() (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wait, t.refusal > 0 && t.refusal >= max(t.calls, 1)
}

// tallyWriter turns the 200 of a request refused as a whole into a 429.
type tallyWriter struct {
	http.ResponseWriter
	t       *tally
	written bool
}

func (w *tallyWriter) WriteHeader(code int) {
	if w.written {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.written = true
	if wait, all := w.t.whole(); all && code == http.StatusOK {
		secs := max(1, (wait+time.Second-1)/time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		code = http.StatusTooManyRequests
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *tallyWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the ResponseWriter it wraps, for http.ResponseController (flushes).
func (w *tallyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
