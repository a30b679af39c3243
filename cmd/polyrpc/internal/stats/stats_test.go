package stats

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

type svc struct{}

func (svc) Ok() int     { return 1 }
func (svc) Fail() error { return errors.New("no") }

// TestStats: counts by transport and method, errors by code, rates over the window between
// two calls of Stats, connections.
func TestStats(t *testing.T) {
	col := New()
	now := col.epoch
	col.now = func() time.Time { return now }
	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{col.Middleware()}, Hooks: col.Hooks()})
	defer srv.Stop()
	if err := srv.Register("svc", svc{}); err != nil {
		t.Fatal(err)
	}
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	calls := func(ok, fail int) {
		for range ok {
			if err := c.Call(ctx, nil, "svc_ok"); err != nil {
				t.Fatal(err)
			}
		}
		for range fail {
			c.Call(ctx, nil, "svc_fail")
		}
	}
	calls(4, 1)
	now = now.Add(2 * time.Second)
	st := col.Stats()
	if st.WindowSeconds != 2 {
		t.Errorf("first window %v s, want 2 (since the start)", st.WindowSeconds)
	}
	calls(10, 3)
	c.Call(ctx, nil, "svc_nothing")
	now = now.Add(time.Second)
	st = col.Stats()
	if st.WindowSeconds != 1 {
		t.Errorf("window %v s, want 1", st.WindowSeconds)
	}
	want := map[string]MethodStats{
		"svc_ok":   {Transport: "inproc", Method: "svc_ok", Calls: 14, Rate: 10},
		"svc_fail": {Transport: "inproc", Method: "svc_fail", Calls: 4, Errors: 4, Rate: 3},
		"_OTHER":   {Transport: "inproc", Method: "_OTHER", Calls: 1, Errors: 1, Rate: 1},
	}
	if len(st.Methods) != len(want) {
		t.Fatalf("methods %+v", st.Methods)
	}
	for _, m := range st.Methods {
		w := want[m.Method]
		if m.P50 <= 0 || m.P99 < m.P50 {
			t.Errorf("%s: p50 %v ms, p99 %v ms", m.Method, m.P50, m.P99)
		}
		m.P50, m.P99 = 0, 0
		if m != w {
			t.Errorf("%+v, want %+v", m, w)
		}
	}
	wantErrs := []CodeStats{{Code: -32601, Count: 1, Rate: 1}, {Code: -32000, Count: 4, Rate: 3}}
	if len(st.Errors) != 2 || st.Errors[0] != wantErrs[0] || st.Errors[1] != wantErrs[1] {
		t.Errorf("errors %+v, want %+v", st.Errors, wantErrs)
	}
	for _, tr := range st.Transports {
		if tr.Transport == "inproc" && (tr.Connections != 1 || tr.Calls != 19 || tr.Rate != 14) {
			t.Errorf("inproc %+v", tr)
		}
	}
	// No call in the next window: rates and latencies are 0, totals stay.
	now = now.Add(time.Second)
	for _, m := range col.Stats().Methods {
		if m.Rate != 0 || m.P50 != 0 || m.Calls == 0 {
			t.Errorf("idle window: %+v", m)
		}
	}
}

// TestQuantile: quantiles fall in the bucket of the durations counted.
func TestQuantile(t *testing.T) {
	var b [nBuckets]uint64
	b[bucket(3*time.Millisecond)] = 99
	b[bucket(200*time.Millisecond)] = 1
	if q := quantile(&b, 0.5); q < 2 || q > 4.2 {
		t.Errorf("p50 %v ms, want about 3", q)
	}
	if q := quantile(&b, 0.995); q < 130 || q > 270 {
		t.Errorf("p99.5 %v ms, want about 200", q)
	}
	if q := quantile(&[nBuckets]uint64{}, 0.5); q != 0 {
		t.Errorf("empty: %v", q)
	}
}
