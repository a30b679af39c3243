package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/polyrpc/polyrpc/guard/ratelimit"
	"github.com/polyrpc/polyrpc/rpc"
)

// limitKeys are the keys of a [[limits]] table of the config file.
var limitKeys = []string{"methods", "rate", "burst", "key", "concurrency"}

// parseLimits reads the [[limits]] tables of the config file at path (the decoded value v) into
// rate-limit rules, checking each as the limiter will; errors name the table and its key.
func parseLimits(path string, v any) ([]ratelimit.Rule, error) {
	tables, ok := v.([]map[string]any)
	if !ok {
		return nil, fmt.Errorf("config %s: limits: want [[limits]] tables, got %s", path, tomlType(v))
	}
	rules := make([]ratelimit.Rule, len(tables))
	for i, t := range tables {
		where := fmt.Sprintf("config %s: [[limits]] #%d", path, i+1)
		r := &rules[i]
		for _, k := range sortedKeys(t) {
			var err error
			switch k {
			case "methods":
				r.Methods, err = stringList(t[k])
			case "rate":
				switch n := t[k].(type) {
				case float64:
					r.Rate = n
				case int64:
					r.Rate = float64(n)
				default:
					err = fmt.Errorf("want a number, got %s", tomlType(n))
				}
			case "burst", "concurrency":
				n, ok := t[k].(int64)
				if !ok || n != int64(int(n)) {
					err = fmt.Errorf("want an integer, got %s", tomlType(t[k]))
				} else if k == "burst" {
					r.Burst = int(n)
				} else {
					r.Concurrency = int(n)
				}
			case "key":
				s, ok := t[k].(string)
				if !ok {
					err = fmt.Errorf("want ip, connection or principal, got %s", tomlType(t[k]))
				}
				r.Key = ratelimit.Key(s)
			default:
				return nil, fmt.Errorf("%s: unknown key %q (known keys: %s)", where, k, strings.Join(limitKeys, ", "))
			}
			if err != nil {
				return nil, fmt.Errorf("%s: key %s: %v", where, k, err)
			}
		}
		if _, err := ratelimit.New([]ratelimit.Rule{*r}, nil); err != nil {
			var re *ratelimit.RuleError
			if errors.As(err, &re) {
				return nil, fmt.Errorf("%s: key %s: %s", where, re.Field, re.Err)
			}
			return nil, fmt.Errorf("%s: %v", where, err)
		}
	}
	return rules, nil
}

// stringList returns v, an array of strings.
func stringList(v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array of strings, got %s", tomlType(v))
	}
	out := make([]string, len(l))
	for i, e := range l {
		if out[i], ok = e.(string); !ok {
			return nil, fmt.Errorf("item %d: want a string, got %s", i, tomlType(e))
		}
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// addLimiter puts the limiter of the config's [[limits]] in opts' middleware; its refusals go
// to opts.Hooks.Refused as read when they happen (reason "rate"). Without limits it does
// nothing.
func (c *serveConfig) addLimiter(opts *rpc.Options) error {
	if len(c.limits) == 0 {
		return nil
	}
	lim, err := ratelimit.New(c.limits, &ratelimit.Options{Refused: func(ci *rpc.ConnInfo, reason string) {
		if f := opts.Hooks.Refused; f != nil {
			f(ci, reason)
		}
	}})
	if err != nil {
		return err
	}
	c.limiter = lim
	opts.Middleware = append(opts.Middleware, lim.Middleware())
	return nil
}

// limitHTTP wraps an HTTP JSON-RPC handler so that a request refused as a whole by the limits
// is answered 429; without limits it returns h.
func (c *serveConfig) limitHTTP(h http.Handler) http.Handler {
	if c.limiter == nil {
		return h
	}
	return c.limiter.HTTP(h)
}
