// Package stats counts a server's calls for people to look at: per transport and method, the
// calls, their errors by code and a histogram of their durations, and per transport the open
// connections and subscriptions. [Collector.Stats] turns them into the figures that the
// browser console's Server page and the console's .stats show (admin_stats): totals, calls per
// second and p50/p99 latency over the last second or so. Standard library only.
package stats

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// nBuckets is the number of duration buckets: bucket 0 holds durations under 1024 ns, bucket
// i ≥ 1 those in [2^(i-1), 2^i) × 1024 ns; the last one everything longer.
const nBuckets = 32

// Collector counts calls through its Middleware and connections through its Hooks. Its
// methods are safe for concurrent use.
type Collector struct {
	epoch time.Time // durations are time.Since(epoch) differences
	now   func() time.Time

	known   [4]transportStats // inproc, ipc, http, ws
	otherMu sync.Mutex
	other   map[string]*transportStats

	mu      sync.Mutex
	history []sample // cumulative samples taken by Stats, oldest first
}

// transportStats are the counts of one transport; per method by MethodInfo.Index (copy on
// write under mu).
type transportStats struct {
	name        string
	conns, subs atomic.Int64
	mu          sync.Mutex
	methods     atomic.Pointer[[]*methodStats]
}

type methodStats struct {
	transport, method string
	calls             atomic.Uint64
	buckets           [nBuckets]atomic.Uint64
	mu                sync.Mutex
	codes             map[int]uint64 // errors by code, under mu
}

// New returns an empty collector.
func New() *Collector {
	c := &Collector{epoch: time.Now(), now: time.Now, other: map[string]*transportStats{}}
	for i, name := range []string{rpc.TransportInProc, rpc.TransportIPC, rpc.TransportHTTP, rpc.TransportWS} {
		c.known[i].name = name
	}
	return c
}

func (c *Collector) transport(name string) *transportStats {
	switch name {
	case rpc.TransportInProc:
		return &c.known[0]
	case rpc.TransportIPC:
		return &c.known[1]
	case rpc.TransportHTTP:
		return &c.known[2]
	case rpc.TransportWS:
		return &c.known[3]
	}
	c.otherMu.Lock()
	defer c.otherMu.Unlock()
	t := c.other[name]
	if t == nil {
		t = &transportStats{name: name}
		c.other[name] = t
	}
	return t
}

func (t *transportStats) method(mi *rpc.MethodInfo) *methodStats {
	if s := t.methods.Load(); s != nil && mi.Index < len(*s) && (*s)[mi.Index] != nil {
		return (*s)[mi.Index]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var s []*methodStats
	if p := t.methods.Load(); p != nil {
		s = *p
	}
	if mi.Index < len(s) && s[mi.Index] != nil {
		return s[mi.Index]
	}
	next := make([]*methodStats, max(len(s), mi.Index+1))
	copy(next, s)
	m := &methodStats{transport: t.name, method: label(mi)}
	next[mi.Index] = m
	t.methods.Store(&next)
	return m
}

// label is the name under which a method's calls are shown: its wire name, and for a
// subscription its subscribe method and its name ("chat_subscribe/messages"), as the
// Prometheus metrics label it.
func label(mi *rpc.MethodInfo) string {
	if mi.Subscription != "" {
		return mi.Name + "/" + mi.Subscription
	}
	return mi.Name
}

// Middleware returns the middleware that counts and times calls (a batch as a whole is not
// counted: its items are).
func (c *Collector) Middleware() rpc.Middleware {
	return func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, call *rpc.Call) rpc.Outcome {
			if call.Kind == rpc.KindBatch {
				return next(ctx, call)
			}
			m := c.transport(call.Conn.Peer.Transport).method(call.Method)
			start := time.Since(c.epoch)
			o := next(ctx, call)
			d := time.Since(c.epoch) - start
			m.calls.Add(1)
			m.buckets[bucket(d)].Add(1)
			if o.Err != nil {
				m.mu.Lock()
				if m.codes == nil {
					m.codes = map[int]uint64{}
				}
				m.codes[o.Err.Code]++
				m.mu.Unlock()
			}
			return o
		}
	}
}

// bucket returns the histogram bucket of d.
func bucket(d time.Duration) int {
	if d < 0 {
		d = 0
	}
	return min(bits.Len64(uint64(d)>>10), nBuckets-1)
}

// Hooks returns the hooks that count connections and subscriptions per transport.
func (c *Collector) Hooks() rpc.Hooks {
	return rpc.Hooks{
		ConnOpened:          func(ci *rpc.ConnInfo) { c.transport(ci.Peer.Transport).conns.Add(1) },
		ConnClosed:          func(ci *rpc.ConnInfo, _ string) { c.transport(ci.Peer.Transport).conns.Add(-1) },
		SubscriptionStarted: func(ci *rpc.ConnInfo, _ *rpc.MethodInfo) { c.transport(ci.Peer.Transport).subs.Add(1) },
		SubscriptionEnded:   func(ci *rpc.ConnInfo, _ *rpc.MethodInfo) { c.transport(ci.Peer.Transport).subs.Add(-1) },
	}
}
