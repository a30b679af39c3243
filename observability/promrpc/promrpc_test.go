package promrpc

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
	"github.com/polyrpc/polyrpc/transports/ipc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// calc is the service of the tests: calc_add, calc_div (fails on zero), calc_ticks (a
// subscription of n integers).
type calc struct{}

func (calc) Add(a, b int) int { return a + b }

func (calc) Div(a, b int) (int, error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
}

func (calc) Ticks(ctx context.Context, n int) (*subscriptions.Subscription, error) {
	nf, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	sub := nf.CreateSubscription()
	go func() {
		for i := range n {
			if sub.NotifyWait(context.Background(), i) != nil {
				return
			}
		}
	}()
	return sub, nil
}

// served is a server with the metrics, offered on every transport.
type served struct {
	srv *rpc.Server
	m   *Metrics
	reg *prometheus.Registry
	// dial returns a client of the transport.
	dial map[string]func(t *testing.T) *rpc.Client
}

func serveAll(t *testing.T) *served {
	t.Helper()
	m := New(nil)
	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{m.Middleware()}, Hooks: m.Hooks(), BatchItemLimit: 3})
	if err := srv.Register("calc", calc{}); err != nil {
		t.Fatal(err)
	}
	m.Attach(srv, rpc.TransportInProc, rpc.TransportIPC, rpc.TransportHTTP, rpc.TransportWS)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	hs := httptest.NewServer(httprpc.NewHandler(srv, &httprpc.Options{VirtualHosts: []string{"*"}}))
	ws := httptest.NewServer(wsrpc.NewHandler(srv, nil))
	dir, err := os.MkdirTemp("", "promrpc")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := ipc.Serve(srv, filepath.Join(dir, "s.ipc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		hs.Close()
		ws.Close()
		ep.Close()
		os.RemoveAll(dir)
	})
	ctx := context.Background()
	s := &served{srv: srv, m: m, reg: reg, dial: map[string]func(t *testing.T) *rpc.Client{
		rpc.TransportInProc: func(t *testing.T) *rpc.Client { return must(t)(inproc.Dial(srv)) },
		rpc.TransportIPC:    func(t *testing.T) *rpc.Client { return must(t)(ipc.Dial(ctx, ep.Path())) },
		rpc.TransportHTTP:   func(t *testing.T) *rpc.Client { return must(t)(httprpc.Dial(ctx, hs.URL, nil)) },
		rpc.TransportWS: func(t *testing.T) *rpc.Client {
			return must(t)(wsrpc.Dial(ctx, "ws"+strings.TrimPrefix(ws.URL, "http"), nil))
		},
	}}
	return s
}

func must(t *testing.T) func(c *rpc.Client, err error) *rpc.Client {
	return func(c *rpc.Client, err error) *rpc.Client {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// load makes the scripted calls on c: 3 calc_add, 2 failing calc_div, 1 calc_div with wrong
// params, 1 unknown method, 1 notification of calc_add, and a batch of two calc_add.
func load(t *testing.T, c *rpc.Client) {
	t.Helper()
	ctx := context.Background()
	var n int
	for i := range 3 {
		if err := c.Call(ctx, &n, "calc_add", i, 1); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := c.Call(ctx, &n, "calc_div", 1, 0); err == nil {
			t.Fatal("calc_div(1, 0) did not fail")
		}
	}
	if err := c.Call(ctx, &n, "calc_div", "x", 0); err == nil {
		t.Fatal("calc_div with a string did not fail")
	}
	if err := c.Call(ctx, &n, "calc_nope"); err == nil {
		t.Fatal("calc_nope did not fail")
	}
	if err := c.Notify(ctx, "calc_add", 1, 1); err != nil {
		t.Fatal(err)
	}
	batch := []rpc.BatchElem{{Method: "calc_add", Args: []any{1, 2}, Result: &n}, {Method: "calc_add", Args: []any{3, 4}, Result: &n}}
	if err := c.BatchCall(ctx, batch); err != nil {
		t.Fatal(err)
	}
}

// TestScrapeCounts: after the same scripted load on every transport, each transport's
// counters hold exactly the calls made on it, by method and code.
func TestScrapeCounts(t *testing.T) {
	s := serveAll(t)
	for _, tr := range []string{rpc.TransportInProc, rpc.TransportIPC, rpc.TransportHTTP, rpc.TransportWS} {
		load(t, s.dial[tr](t))
	}
	got := scrape(t, s.reg)
	for _, tr := range []string{rpc.TransportInProc, rpc.TransportIPC, rpc.TransportHTTP, rpc.TransportWS} {
		want := map[string]float64{
			// calc_add: 3 calls, the notification and the two batch items.
			series("polyrpc_server_started_total", "method", "calc_add", "transport", tr):                   6,
			series("polyrpc_server_handled_total", "code", "ok", "method", "calc_add", "transport", tr):     6,
			series("polyrpc_server_started_total", "method", "calc_div", "transport", tr):                   3,
			series("polyrpc_server_handled_total", "code", "-32000", "method", "calc_div", "transport", tr): 2,
			series("polyrpc_server_handled_total", "code", "-32602", "method", "calc_div", "transport", tr): 1,
			series("polyrpc_server_handled_total", "code", "ok", "method", "calc_div", "transport", tr):     0,
			series("polyrpc_server_started_total", "method", "_OTHER", "transport", tr):                     1,
			series("polyrpc_server_handled_total", "code", "-32601", "method", "_OTHER", "transport", tr):   1,
			series("polyrpc_server_handling_seconds_count", "method", "calc_add", "transport", tr):          6,
			series("polyrpc_server_batch_items_count", "transport", tr):                                     1,
			series("polyrpc_server_batch_items_sum", "transport", tr):                                       2,
			series("polyrpc_server_started_total", "method", "calc_ticks", "transport", tr):                 0,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
	}
	if _, ok := got[series("polyrpc_request_bytes_in_use")]; !ok {
		t.Error("no polyrpc_request_bytes_in_use")
	}
	if got[series("polyrpc_notification_bytes_limit")] != 256<<20 {
		t.Errorf("polyrpc_notification_bytes_limit = %v", got[series("polyrpc_notification_bytes_limit")])
	}
}

// TestRejected: refusals are counted by transport and reason.
func TestRejected(t *testing.T) {
	s := serveAll(t)
	c := s.dial[rpc.TransportWS](t)
	var n int
	batch := make([]rpc.BatchElem, 4) // over BatchItemLimit
	for i := range batch {
		batch[i] = rpc.BatchElem{Method: "calc_add", Args: []any{1, 2}, Result: &n}
	}
	c.BatchCall(context.Background(), batch)
	s.srv.ReportRefusal(rpc.PeerInfo{Transport: rpc.TransportHTTP}, "rate")
	got := scrape(t, s.reg)
	for k, v := range map[string]float64{
		series("polyrpc_server_rejected_total", "reason", "batch_too_large", "transport", "ws"): 1,
		series("polyrpc_server_rejected_total", "reason", "rate", "transport", "http"):          1,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// TestConnectionsAndSubscriptions: open connections and live subscriptions are gauges, and
// notifications sent a counter, by subscription.
func TestConnectionsAndSubscriptions(t *testing.T) {
	s := serveAll(t)
	c := s.dial[rpc.TransportWS](t)
	ch := make(chan int, 8)
	sub, err := c.Subscribe(context.Background(), "calc", ch, "ticks", 5)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no notification")
		}
	}
	label := "calc_subscribe/ticks"
	waitFor(t, s.reg, series("polyrpc_notifications_sent_total", "method", label), 5)
	got := scrape(t, s.reg)
	for k, v := range map[string]float64{
		series("polyrpc_connections", "transport", "ws"):                                         1,
		series("polyrpc_subscriptions", "method", label):                                         1,
		series("polyrpc_server_handled_total", "code", "ok", "method", label, "transport", "ws"): 1,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	sub.Unsubscribe()
	waitFor(t, s.reg, series("polyrpc_subscriptions", "method", label), 0)
	c.Close()
	waitFor(t, s.reg, series("polyrpc_connections", "transport", "ws"), 0)
}

// waitFor waits until the series k has value v (hooks run after the client has its answer).
func waitFor(t *testing.T, reg *prometheus.Registry, k string, v float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := scrape(t, reg)[k]
		if got == v {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", k, got, v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scrape gathers reg into a map from series (name{label="value",…}, labels sorted) to value;
// a histogram gives NAME_count and NAME_sum.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var kv []string
			for _, lp := range m.GetLabel() {
				kv = append(kv, lp.GetName(), lp.GetValue())
			}
			name := mf.GetName()
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[series(name, kv...)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[series(name, kv...)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[series(name+"_count", kv...)] = float64(m.GetHistogram().GetSampleCount())
				out[series(name+"_sum", kv...)] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// series names a series: name{k1="v1",k2="v2"} with the labels in the order given (sorted by
// name, as Gather sorts them).
func series(name string, kv ...string) string {
	if len(kv) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name + "{")
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s=%q", kv[i], kv[i+1])
	}
	return b.String() + "}"
}
