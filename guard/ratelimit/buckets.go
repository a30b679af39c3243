package ratelimit

import (
	"net"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"golang.org/x/time/rate"
)

// minSweep is the size of a rule's table below which it is never swept.
const minSweep = 1024

// bucketKey identifies a bucket: an IP address (s, n 0), a principal (s, n 1) or a connection
// (n its ID plus 2).
type bucketKey struct {
	s string
	n uint64
}

// key returns the bucket key of the call c for a rule keyed by k.
func (l *Limiter) key(c *rpc.Call, k Key) bucketKey {
	switch k {
	case KeyConnection:
		return bucketKey{n: c.Conn.ID + 2}
	case KeyPrincipal:
		if p := c.Conn.Principal; p != nil {
			return bucketKey{s: l.pkey(p), n: 1}
		}
	}
	return bucketKey{s: hostOf(c.Conn.Peer.RemoteAddr)}
}

// hostOf returns the host of a remote address (an IP address); an address without a port (a
// unix socket's, an in-process one's) as it is.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// buckets is a rule's table of buckets, by key.
type buckets struct {
	mu      sync.Mutex
	m       map[bucketKey]*rate.Limiter
	sweepAt int // the table's size at which to sweep next
	max     int
}

func (b *buckets) init(maxKeys int) {
	b.m = make(map[bucketKey]*rate.Limiter)
	b.max = maxKeys
	b.sweepAt = min(minSweep, maxKeys)
}

// get returns the bucket of k, made full when there is none.
func (b *buckets) get(k bucketKey, r *rule, now time.Time) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	lim := b.m[k]
	if lim == nil {
		if len(b.m) >= b.sweepAt {
			b.sweep(now, r.Burst)
		}
		lim = rate.NewLimiter(r.limit, r.Burst)
		b.m[k] = lim
	}
	return lim
}

// sweep drops the buckets that are full at now (a new one would be the same), then, if the
// table is still at its bound, arbitrary ones down to 7/8 of it; the next sweep comes when the
// table has doubled (or reached its bound).
func (b *buckets) sweep(now time.Time, burst int) {
	full := float64(burst)
	for k, lim := range b.m {
		if lim.TokensAt(now) >= full {
			delete(b.m, k)
		}
	}
	if len(b.m) >= b.max {
		for k := range b.m { // map order: arbitrary
			if len(b.m) <= b.max*7/8 {
				break
			}
			delete(b.m, k)
		}
	}
	b.sweepAt = min(max(minSweep, 2*len(b.m)), b.max)
}
