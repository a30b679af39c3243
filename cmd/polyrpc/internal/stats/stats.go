package stats

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// Stats is what admin_stats answers: cumulative counts since the server started, and rates
// and latencies over the window that ends now.
type Stats struct {
	Time time.Time `json:"time"`
	// WindowSeconds is the length of the window of the rates and latencies: from the sample
	// taken by an earlier call at least a second before (or the server's start) to now.
	WindowSeconds float64          `json:"windowSeconds"`
	Methods       []MethodStats    `json:"methods"`    // by transport, then method
	Errors        []CodeStats      `json:"errors"`     // by code
	Transports    []TransportStats `json:"transports"` // by name
}

// MethodStats are the figures of one method on one transport.
type MethodStats struct {
	Transport string  `json:"transport"`
	Method    string  `json:"method"`
	Calls     uint64  `json:"calls"`          // since the start
	Errors    uint64  `json:"errors"`         // since the start
	Rate      float64 `json:"callsPerSecond"` // over the window
	// P50 and P99 are the median and 99th percentile of the durations of the calls in the
	// window, in milliseconds (estimated from the histogram's power-of-two buckets); 0 when
	// the window had no call.
	P50 float64 `json:"p50Ms"`
	P99 float64 `json:"p99Ms"`
}

// CodeStats counts the calls answered with one error code, on every transport.
type CodeStats struct {
	Code  int     `json:"code"`
	Count uint64  `json:"count"`
	Rate  float64 `json:"perSecond"`
}

// TransportStats are the figures of one transport.
type TransportStats struct {
	Transport     string  `json:"transport"`
	Connections   int64   `json:"connections"`
	Subscriptions int64   `json:"subscriptions"`
	Calls         uint64  `json:"calls"`
	Rate          float64 `json:"callsPerSecond"`
}

// sample is the cumulative counts at one time.
type sample struct {
	at      time.Time
	methods map[[2]string]*counts // by transport, method
}

type counts struct {
	calls   uint64
	buckets [nBuckets]uint64
	codes   map[int]uint64
}

// Window bounds: a rate is taken over at least minWindow when the history allows it; samples
// are kept at most every sampleEvery and for keep.
const (
	minWindow   = time.Second
	sampleEvery = 250 * time.Millisecond
	keep        = 30 * time.Second
)

// read takes the cumulative counts now.
func (c *Collector) read(now time.Time) sample {
	s := sample{at: now, methods: map[[2]string]*counts{}}
	for _, t := range c.transports() {
		p := t.methods.Load()
		if p == nil {
			continue
		}
		for _, m := range *p {
			if m == nil {
				continue
			}
			k := [2]string{m.transport, m.method}
			n := s.methods[k] // two indexes of one label (a method registered again) add up
			if n == nil {
				n = &counts{codes: map[int]uint64{}}
				s.methods[k] = n
			}
			n.calls += m.calls.Load()
			for i := range n.buckets {
				n.buckets[i] += m.buckets[i].Load()
			}
			m.mu.Lock()
			for code, v := range m.codes {
				n.codes[code] += v
			}
			m.mu.Unlock()
		}
	}
	return s
}

func (c *Collector) transports() []*transportStats {
	out := []*transportStats{&c.known[0], &c.known[1], &c.known[2], &c.known[3]}
	c.otherMu.Lock()
	for _, t := range c.other {
		out = append(out, t)
	}
	c.otherMu.Unlock()
	return out
}

// Stats returns the figures now. Rates and latencies are taken against the newest sample of an
// earlier call that is at least a second old (or the oldest, or the start), so that a page
// asking every second sees the last second.
func (c *Collector) Stats() Stats {
	now := c.now()
	cur := c.read(now)
	base := sample{at: c.epoch}
	c.mu.Lock()
	for _, h := range c.history {
		if now.Sub(h.at) < minWindow {
			break
		}
		base = h
	}
	if base.methods == nil && len(c.history) > 0 {
		base = c.history[0]
	}
	if n := len(c.history); n == 0 || now.Sub(c.history[n-1].at) >= sampleEvery {
		c.history = append(c.history, cur)
	}
	for len(c.history) > 1 && now.Sub(c.history[0].at) > keep && c.history[1].at.Compare(base.at) <= 0 {
		c.history = c.history[1:]
	}
	c.mu.Unlock()
	window := now.Sub(base.at).Seconds()
	st := Stats{Time: now.UTC(), WindowSeconds: window, Methods: []MethodStats{}, Errors: []CodeStats{}}
	perSecond := func(n uint64) float64 {
		if window <= 0 {
			return 0
		}
		return float64(n) / window
	}
	codes, codesBase := map[int]uint64{}, map[int]uint64{}
	perTransport := map[string]*TransportStats{}
	for _, t := range c.transports() {
		perTransport[t.name] = &TransportStats{Transport: t.name, Connections: t.conns.Load(), Subscriptions: t.subs.Load()}
	}
	for k, n := range cur.methods {
		var b counts
		if old := base.methods[k]; old != nil {
			b = *old
		}
		var delta [nBuckets]uint64
		for i := range delta {
			delta[i] = n.buckets[i] - b.buckets[i]
		}
		var errs uint64
		for code, v := range n.codes {
			errs += v
			codes[code] += v
			codesBase[code] += b.codes[code]
		}
		st.Methods = append(st.Methods, MethodStats{
			Transport: k[0], Method: k[1], Calls: n.calls, Errors: errs,
			Rate: perSecond(n.calls - b.calls),
			P50:  quantile(&delta, 0.5), P99: quantile(&delta, 0.99),
		})
		ts := perTransport[k[0]]
		ts.Calls += n.calls
		ts.Rate += perSecond(n.calls - b.calls)
	}
	slices.SortFunc(st.Methods, func(a, b MethodStats) int {
		return cmp.Or(cmp.Compare(a.Transport, b.Transport), cmp.Compare(a.Method, b.Method))
	})
	for _, code := range slices.Sorted(maps.Keys(codes)) {
		st.Errors = append(st.Errors, CodeStats{Code: code, Count: codes[code], Rate: perSecond(codes[code] - codesBase[code])})
	}
	for _, name := range slices.Sorted(maps.Keys(perTransport)) {
		st.Transports = append(st.Transports, *perTransport[name])
	}
	return st
}

// quantile estimates the q-quantile, in milliseconds, of the durations counted in buckets,
// interpolating linearly inside the bucket where it falls; 0 for no durations.
func quantile(buckets *[nBuckets]uint64, q float64) float64 {
	var total uint64
	for _, n := range buckets {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, n := range buckets {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lo, hi := bounds(i)
			frac := (rank - seen) / float64(n)
			return (lo + frac*(hi-lo)) / 1e6
		}
		seen += float64(n)
	}
	lo, _ := bounds(nBuckets - 1)
	return lo / 1e6
}

// bounds returns the bounds of bucket i in nanoseconds.
func bounds(i int) (lo, hi float64) {
	if i == 0 {
		return 0, 1024
	}
	return float64(uint64(1024) << (i - 1)), float64(uint64(1024) << i)
}
