package ratelimit

import (
	"fmt"
	"math"
	"strings"

	"github.com/polyrpc/polyrpc/rpc"
)

// Key says what a rule keeps one bucket per.
type Key string

// The keys of a rule's buckets.
const (
	KeyIP         Key = "ip"         // the client's IP address (IPC and in-process: one local client)
	KeyConnection Key = "connection" // the connection (over HTTP: each request is one)
	KeyPrincipal  Key = "principal"  // the authenticator's principal; calls without one: their IP
)

// Rule limits the calls of some methods; see the package documentation.
type Rule struct {
	// Methods are the methods the rule applies to: a wire name ("chat_send"), a namespace
	// ("chat_*") or every method ("*", unknown names included).
	Methods []string
	// Rate is how many calls a second each key may make, on average; 0: no rate limit.
	Rate float64
	// Burst is how many calls a key may make at once, the size of its bucket. 0: Rate rounded
	// up (at least 1).
	Burst int
	// Key is what the rule keeps one bucket per; "" is KeyIP.
	Key Key
	// Concurrency caps how many calls of the rule's methods may run at once in the server,
	// whoever makes them; 0: no cap.
	Concurrency int
}

// RuleError says what is wrong with a rule given to [New]: Field is the name of the field
// as in the binary's TOML config (methods, rate, burst, key, concurrency).
type RuleError struct {
	Index int // the rule's index in the list
	Field string
	Err   string
}

// Error returns "rule N: FIELD: ERR".
func (e *RuleError) Error() string {
	return fmt.Sprintf("ratelimit: rule %d: %s: %s", e.Index, e.Field, e.Err)
}

// check returns what is wrong with r, the i-th rule, or nil.
func (r *Rule) check(i int) error {
	bad := func(field, format string, args ...any) error {
		return &RuleError{Index: i, Field: field, Err: fmt.Sprintf(format, args...)}
	}
	if len(r.Methods) == 0 {
		return bad("methods", "empty: want method names, \"ns_*\" or \"*\"")
	}
	for _, m := range r.Methods {
		if !validPattern(m) {
			return bad("methods", "%q: want a method name (ns_method), a namespace (ns_*) or *", m)
		}
	}
	if math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0) || r.Rate < 0 {
		return bad("rate", "%v: want a number of calls per second, 0 or more", r.Rate)
	}
	if r.Burst < 0 {
		return bad("burst", "%d: want 0 or more", r.Burst)
	}
	if r.Burst > 0 && r.Rate == 0 {
		return bad("burst", "%d without a rate", r.Burst)
	}
	switch r.Key {
	case "", KeyIP, KeyConnection, KeyPrincipal:
	default:
		return bad("key", "%q: want ip, connection or principal", r.Key)
	}
	if r.Concurrency < 0 {
		return bad("concurrency", "%d: want 0 or more", r.Concurrency)
	}
	if r.Rate == 0 && r.Concurrency == 0 {
		return bad("rate", "neither a rate nor a concurrency cap: the rule limits nothing")
	}
	return nil
}

// validPattern reports whether p is "*", "ns_*" or a name without '*'.
func validPattern(p string) bool {
	if p == "*" {
		return true
	}
	if ns, ok := strings.CutSuffix(p, "_*"); ok {
		return ns != "" && !strings.ContainsAny(ns, "*_")
	}
	return p != "" && !strings.Contains(p, "*") && !strings.ContainsAny(p, " \t\r\n")
}

// matches reports whether pattern p names m.
func matches(p string, m *rpc.MethodInfo) bool {
	switch {
	case p == "*":
		return m.Name != rpc.MethodBatch
	case strings.HasSuffix(p, "_*"):
		return m.Namespace != "" && m.Namespace == p[:len(p)-2]
	}
	return m.Namespace != "" && m.Name == p
}
