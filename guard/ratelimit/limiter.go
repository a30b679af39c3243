package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"golang.org/x/time/rate"
)

// RefusedRate is the reason a refusal is reported with (rpc.Hooks.Refused's reasons).
const RefusedRate = "rate"

// DefaultMaxKeys is the most buckets a rule keeps when Options.MaxKeys is 0.
const DefaultMaxKeys = 100_000

// Options configures a [Limiter]. A nil *Options gives the defaults.
type Options struct {
	// Refused, when set, is told of each refused call with the reason RefusedRate: give it
	// the server's Hooks.Refused so that metrics count the refusals. It must not block.
	Refused func(c *rpc.ConnInfo, reason string)
	// MaxKeys bounds the buckets each rule keeps; 0: DefaultMaxKeys.
	MaxKeys int
	// PrincipalKey turns a principal into the key of its bucket (KeyPrincipal). nil: a string
	// principal itself, else its String method (fmt.Stringer), else fmt's %v of it.
	PrincipalKey func(principal any) string
}

// Limiter enforces rules on calls: its [Limiter.Middleware] goes into rpc.Options.Middleware,
// and [Limiter.HTTP] wraps an HTTP handler for 429 answers. It is safe for concurrent use.
type Limiter struct {
	rules   []*rule
	refused func(*rpc.ConnInfo, string)
	pkey    func(any) string
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex                  // serialises the filling of byIndex
	byIndex atomic.Pointer[[]*ruleList] // the rules of each method, by MethodInfo.Index
}

// ruleList is the rules that apply to one method.
type ruleList struct{ rules []*rule }

// rule is a Rule in force: its buckets and its running calls.
type rule struct {
	Rule
	limit   rate.Limit
	buckets buckets
	running atomic.Int64
	meanNs  atomic.Int64 // the mean duration of its calls (exponential, 1/8 per call); capped rules only
}

// New returns a Limiter enforcing rules; it fails with a [*RuleError] for a rule that is not
// valid. A nil opts gives the defaults.
func New(rules []Rule, opts *Options) (*Limiter, error) {
	if opts == nil {
		opts = &Options{}
	}
	l := &Limiter{refused: opts.Refused, pkey: opts.PrincipalKey, maxKeys: opts.MaxKeys, now: time.Now}
	if l.pkey == nil {
		l.pkey = principalKey
	}
	if l.maxKeys <= 0 {
		l.maxKeys = DefaultMaxKeys
	}
	for i, r := range rules {
		if err := r.check(i); err != nil {
			return nil, err
		}
		r.Methods = append([]string(nil), r.Methods...)
		if r.Key == "" {
			r.Key = KeyIP
		}
		if r.Burst == 0 && r.Rate > 0 {
			r.Burst = max(1, int(math.Ceil(r.Rate)))
		}
		nr := &rule{Rule: r, limit: rate.Limit(r.Rate)}
		nr.buckets.init(l.maxKeys)
		l.rules = append(l.rules, nr)
	}
	l.byIndex.Store(new([]*ruleList))
	return l, nil
}

// principalKey is the default Options.PrincipalKey.
func principalKey(p any) string {
	switch p := p.(type) {
	case string:
		return p
	case fmt.Stringer:
		return p.String()
	}
	return fmt.Sprintf("%v", p)
}

// rulesFor returns the rules that apply to m, matched once per method and kept by its Index.
func (l *Limiter) rulesFor(m *rpc.MethodInfo) []*rule {
	if t := *l.byIndex.Load(); m.Index < len(t) {
		if rl := t[m.Index]; rl != nil {
			return rl.rules
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := *l.byIndex.Load()
	if m.Index < len(t) && t[m.Index] != nil {
		return t[m.Index].rules
	}
	rl := &ruleList{}
	for _, r := range l.rules {
		for _, p := range r.Methods {
			if matches(p, m) {
				rl.rules = append(rl.rules, r)
				break
			}
		}
	}
	nt := make([]*ruleList, max(len(t), m.Index+1))
	copy(nt, t)
	nt[m.Index] = rl
	l.byIndex.Store(&nt)
	return rl.rules
}

// Middleware returns the middleware that enforces the limits; see the package documentation.
func (l *Limiter) Middleware() rpc.Middleware {
	return func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			switch c.Kind {
			case rpc.KindBatch:
				if t := tallyOf(ctx, c); t != nil {
					t.expect(c.BatchSize)
				}
				return next(ctx, c)
			case rpc.KindUnsubscribe:
				return next(ctx, c)
			}
			rules := l.rulesFor(c.Method)
			if len(rules) == 0 {
				return next(ctx, c)
			}
			wait, capped, ok := l.admit(c, rules)
			if !ok {
				return l.refuse(ctx, c, wait)
			}
			if capped == nil {
				return next(ctx, c)
			}
			return l.runCapped(ctx, c, next, capped)
		}
	}
}

// admit charges the call c to each of rules: it reports false, with how long to wait, when one
// of them refuses it (no rule is charged then), and else the rules with a concurrency cap,
// whose slots it has taken.
func (l *Limiter) admit(c *rpc.Call, rules []*rule) (wait time.Duration, capped []*rule, ok bool) {
	var resv [4]*rate.Reservation
	taken := resv[:0]
	now := l.now()
	for i, r := range rules {
		if r.Rate == 0 {
			continue
		}
		lim := r.buckets.get(l.key(c, r.Key), r, now)
		if i == len(rules)-1 && len(taken) == 0 {
			// The only rate to charge: nothing to give back if it refuses, so no reservation.
			if !lim.AllowN(now, 1) {
				return tokenWait(lim, now), nil, false
			}
			break
		}
		res := lim.ReserveN(now, 1)
		if d := res.DelayFrom(now); d > 0 || !res.OK() {
			res.CancelAt(now)
			cancelAll(taken, now)
			return d, nil, false
		}
		taken = append(taken, res)
	}
	for i, r := range rules {
		if r.Concurrency == 0 {
			continue
		}
		if r.running.Add(1) > int64(r.Concurrency) {
			r.running.Add(-1)
			for _, t := range rules[:i] {
				if t.Concurrency != 0 {
					t.running.Add(-1)
				}
			}
			cancelAll(taken, now)
			return time.Duration(max(r.meanNs.Load(), int64(time.Millisecond))), nil, false
		}
		capped = rules // released by runCapped, each rule with a cap
	}
	return 0, capped, true
}

// tokenWait returns how long after now lim will have a token.
func tokenWait(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(missing / float64(lim.Limit()) * float64(time.Second)))
}

func cancelAll(rs []*rate.Reservation, now time.Time) {
	for _, r := range rs {
		r.CancelAt(now)
	}
}

// runCapped runs the call c, which holds a slot of each rule of rules with a concurrency
// cap, and gives them back, recording its duration in their means.
func (l *Limiter) runCapped(ctx context.Context, c *rpc.Call, next rpc.Handler, rules []*rule) rpc.Outcome {
	start := time.Now()
	defer func() {
		d := int64(time.Since(start))
		for _, r := range rules {
			if r.Concurrency == 0 {
				continue
			}
			r.running.Add(-1)
			m := r.meanNs.Load()
			r.meanNs.Store(m + (d-m)/8) // a lost update only shifts the estimate
		}
	}()
	return next(ctx, c)
}

// refuse answers the call c -32005 with how long to wait, and reports it.
func (l *Limiter) refuse(ctx context.Context, c *rpc.Call, wait time.Duration) rpc.Outcome {
	if l.refused != nil {
		l.refused(c.Conn, RefusedRate)
	}
	if t := tallyOf(ctx, c); t != nil {
		t.refused(wait)
	}
	ms := max(1, (wait+time.Millisecond-1)/time.Millisecond)
	return rpc.Outcome{Err: &rpc.Error{
		Code:    rpc.CodeServerBusy,
		Message: "rate limit exceeded: " + c.Method.Name,
		Data:    RetryData{RetryAfterMs: int64(ms)},
	}}
}

// RetryData is the data of a -32005 answer to a refused call: how many milliseconds to wait
// before calling again.
type RetryData struct {
	RetryAfterMs int64 `json:"retryAfterMs"`
}
