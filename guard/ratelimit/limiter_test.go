package ratelimit_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/guard/ratelimit"
)

func req(id int, method string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":[%d]}`, id, method, id)
}

func TestRuleErrors(t *testing.T) {
	tests := []struct {
		rule  ratelimit.Rule
		field string
	}{
		{ratelimit.Rule{Rate: 1}, "methods"},
		{ratelimit.Rule{Methods: []string{"a_*x"}, Rate: 1}, "methods"},
		{ratelimit.Rule{Methods: []string{"_*"}, Rate: 1}, "methods"},
		{ratelimit.Rule{Methods: []string{""}, Rate: 1}, "methods"},
		{ratelimit.Rule{Methods: []string{"*"}, Rate: -1}, "rate"},
		{ratelimit.Rule{Methods: []string{"*"}}, "rate"},
		{ratelimit.Rule{Methods: []string{"*"}, Rate: 1, Burst: -1}, "burst"},
		{ratelimit.Rule{Methods: []string{"*"}, Concurrency: 1, Burst: 3}, "burst"},
		{ratelimit.Rule{Methods: []string{"*"}, Rate: 1, Key: "user"}, "key"},
		{ratelimit.Rule{Methods: []string{"*"}, Concurrency: -2}, "concurrency"},
	}
	for _, tt := range tests {
		ok := ratelimit.Rule{Methods: []string{"a_echo", "b_*", "*"}, Rate: 2, Key: ratelimit.KeyPrincipal}
		_, err := ratelimit.New([]ratelimit.Rule{ok, tt.rule}, nil)
		var re *ratelimit.RuleError
		if !errors.As(err, &re) || re.Index != 1 || re.Field != tt.field {
			t.Errorf("%+v: err = %v, want a RuleError on rule 1's %s", tt.rule, err, tt.field)
		}
	}
}

// TestBucket: a key gets Burst calls at once, then one per 1/Rate; a refusal says how long
// to wait, is not run and is reported; another IP is unaffected.
func TestBucket(t *testing.T) {
	e := newEnv(t, nil, ratelimit.Rule{Methods: []string{"a_echo"}, Rate: 2, Burst: 3})
	ss, a := e.session("10.0.0.1:1000", nil)
	for i := 1; i <= 3; i++ {
		if w := limited(t, call(t, ss, a, req(i, "a_echo"))[0]); w != -1 {
			t.Fatalf("call %d within the burst refused", i)
		}
	}
	if w := limited(t, call(t, ss, a, req(4, "a_echo"))[0]); w != 500 {
		t.Fatalf("call over the burst: retryAfterMs %d, want 500", w)
	}
	if w := limited(t, call(t, ss, a, req(5, "b_echo"))[0]); w != -1 {
		t.Fatal("a method without a rule was refused")
	}
	other, oa := e.session("10.0.0.2:1000", nil)
	if w := limited(t, call(t, other, oa, req(6, "a_echo"))[0]); w != -1 {
		t.Fatal("another IP was refused")
	}
	sameIP, sa := e.session("10.0.0.1:2000", nil)
	if w := limited(t, call(t, sameIP, sa, req(7, "a_echo"))[0]); w != 500 {
		t.Fatalf("another connection from the same IP: retryAfterMs %d, want 500", w)
	}
	e.clock.advance(300 * time.Millisecond)
	if w := limited(t, call(t, ss, a, req(8, "a_echo"))[0]); w != 200 {
		t.Fatalf("300 ms later: retryAfterMs %d, want 200", w)
	}
	e.clock.advance(200 * time.Millisecond)
	if w := limited(t, call(t, ss, a, req(9, "a_echo"))[0]); w != -1 {
		t.Fatal("refused once a token was back")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if got := strings.Join(e.refused, ","); got != "10.0.0.1:1000 rate,10.0.0.1:2000 rate,10.0.0.1:1000 rate" {
		t.Fatalf("refusals reported: %s", got)
	}
}

// TestMatching: "*" applies to every method, unknown names included; "ns_*" to the
// namespace, whose methods share the budget; every matching rule is charged, and a call
// refused by one rule charges none.
func TestMatching(t *testing.T) {
	e := newEnv(t, nil,
		ratelimit.Rule{Methods: []string{"*"}, Rate: 1, Burst: 4},
		ratelimit.Rule{Methods: []string{"a_*"}, Rate: 1, Burst: 1})
	ss, a := e.session("10.0.0.1:1", nil)
	got := ""
	for i, m := range []string{"a_echo", "a_slow", "nope_x", "b_echo", "b_echo", "b_echo"} {
		if limited(t, call(t, ss, a, req(i, m))[0]) >= 0 {
			got += "R"
		} else {
			got += "."
		}
	}
	// a_echo spends a_*; a_slow, in the namespace, is refused and charges nothing to "*", so
	// that nope_x (unknown: only "*") and two b_echo pass before "*" is spent.
	if got != ".R...R" {
		t.Fatalf("pattern %s, want .R...R", got)
	}
}

// TestBatchItems: each call of a batch is charged on its own.
func TestBatchItems(t *testing.T) {
	e := newEnv(t, nil, ratelimit.Rule{Methods: []string{"a_echo"}, Rate: 1, Burst: 2})
	ss, a := e.session("10.0.0.1:1", nil)
	ans := call(t, ss, a, "["+req(1, "a_echo")+","+req(2, "b_echo")+","+req(3, "a_echo")+","+req(4, "a_echo")+"]")
	var got []int64
	for _, x := range ans {
		got = append(got, limited(t, x))
	}
	if fmt.Sprint(got) != "[-1 -1 -1 1000]" {
		t.Fatalf("batch: %v, want only the last a_echo refused", got)
	}
}

// TestKeys: per connection, each connection has its bucket; per principal, connections of
// one principal share one, and a call without a principal is keyed by its IP.
func TestKeys(t *testing.T) {
	e := newEnv(t, nil,
		ratelimit.Rule{Methods: []string{"a_echo"}, Rate: 1, Burst: 1, Key: ratelimit.KeyConnection},
		ratelimit.Rule{Methods: []string{"b_echo"}, Rate: 1, Burst: 1, Key: ratelimit.KeyPrincipal})
	c1, a1 := e.session("10.0.0.1:1", "alice")
	c2, a2 := e.session("10.0.0.1:2", "alice")
	c3, a3 := e.session("10.0.0.2:1", "bob")
	c4, a4 := e.session("10.0.0.3:1", nil)
	c5, a5 := e.session("10.0.0.3:2", nil)
	check := func(name string, ans answer, refused bool) {
		t.Helper()
		if (limited(t, ans) >= 0) != refused {
			t.Errorf("%s: refused %v, want %v", name, !refused, refused)
		}
	}
	check("conn 1 a", call(t, c1, a1, req(1, "a_echo"))[0], false)
	check("conn 2 a", call(t, c2, a2, req(1, "a_echo"))[0], false)
	check("conn 1 a again", call(t, c1, a1, req(2, "a_echo"))[0], true)
	check("alice b", call(t, c1, a1, req(3, "b_echo"))[0], false)
	check("alice b on her other connection", call(t, c2, a2, req(3, "b_echo"))[0], true)
	check("bob b", call(t, c3, a3, req(3, "b_echo"))[0], false)
	check("anonymous b", call(t, c4, a4, req(3, "b_echo"))[0], false)
	check("anonymous b, same IP", call(t, c5, a5, req(3, "b_echo"))[0], true)
}

// TestConcurrency: at most Concurrency calls of the rule run at once, server-wide; a call over
// the cap is refused at once (its wait: the rule's mean call duration, at least 1 ms), and
// runs once a slot is free.
func TestConcurrency(t *testing.T) {
	e := newEnv(t, nil, ratelimit.Rule{Methods: []string{"a_slow"}, Concurrency: 1})
	s1, a1 := e.session("10.0.0.1:1", nil)
	s2, a2 := e.session("10.0.0.2:1", nil)
	first := make(chan []answer)
	go func() { first <- call(t, s1, a1, `{"jsonrpc":"2.0","id":1,"method":"a_slow"}`) }()
	<-e.svc.started
	if w := limited(t, call(t, s2, a2, `{"jsonrpc":"2.0","id":2,"method":"a_slow"}`)[0]); w < 1 {
		t.Fatalf("a second a_slow while the first runs: retryAfterMs %d, want refused", w)
	}
	if w := limited(t, call(t, s2, a2, req(3, "a_echo"))[0]); w != -1 {
		t.Fatal("a method without a cap was refused")
	}
	e.svc.gate <- struct{}{}
	if ans := <-first; limited(t, ans[0]) != -1 {
		t.Fatalf("first a_slow: %+v", ans[0])
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if ans := call(t, s2, a2, `{"jsonrpc":"2.0","id":4,"method":"a_slow"}`); limited(t, ans[0]) != -1 {
			t.Errorf("a_slow after the slot was freed: %+v", ans[0])
		}
	})
	<-e.svc.started
	e.svc.gate <- struct{}{}
	wg.Wait()
}

// TestEviction: buckets of many keys do not pile up: full ones are dropped, and the table
// never outgrows MaxKeys.
func TestEviction(t *testing.T) {
	e := newEnv(t, &ratelimit.Options{MaxKeys: 3000},
		ratelimit.Rule{Methods: []string{"a_echo"}, Rate: 10, Burst: 1})
	for i := range 2000 {
		ss, a := e.session(fmt.Sprintf("10.1.%d.%d:1", i/256, i%256), nil)
		call(t, ss, a, req(1, "a_echo"))
		ss.Close()
	}
	if n := ratelimit.Keys(e.lim)[0]; n < 1024 || n > 2000 {
		t.Fatalf("%d buckets after 2000 IPs within an instant, want them kept (none full)", n)
	}
	// Every bucket is full again; the table reaches 2048, twice its size at the last sweep.
	e.clock.advance(time.Second)
	for i := range 100 {
		ss, a := e.session(fmt.Sprintf("10.2.0.%d:1", i), nil)
		call(t, ss, a, req(1, "a_echo"))
		ss.Close()
	}
	if n := ratelimit.Keys(e.lim)[0]; n > 100 {
		t.Fatalf("%d buckets: the full ones were not swept", n)
	}
	for i := range 5000 {
		ss, a := e.session(fmt.Sprintf("10.3.%d.%d:1", i/256, i%256), nil)
		call(t, ss, a, req(1, "a_echo"))
		ss.Close()
	}
	if n := ratelimit.Keys(e.lim)[0]; n > 3000 {
		t.Fatalf("%d buckets, want at most MaxKeys (3000)", n)
	}
}

// TestUnsubscribeNotLimited: "*" does not refuse unsubscribe calls.
func TestUnsubscribeNotLimited(t *testing.T) {
	e := newEnv(t, nil, ratelimit.Rule{Methods: []string{"*"}, Rate: 1, Burst: 1})
	ss, a := e.session("10.0.0.1:1", nil)
	call(t, ss, a, req(1, "a_echo"))
	ans := call(t, ss, a, `{"jsonrpc":"2.0","id":2,"method":"a_unsubscribe","params":["0x1"]}`)[0]
	if ans.Error != nil && ans.Error.Code == -32005 {
		t.Fatal("an unsubscribe call was rate limited")
	}
}
