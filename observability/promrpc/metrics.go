package promrpc

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBuckets are the bounds, in seconds, of the handling-time histogram: from 100 µs (an
// in-process call takes a few) to 10 s.
var DefaultBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Options configures [New]. A nil *Options gives the defaults.
type Options struct {
	// Buckets are the bounds of polyrpc_server_handling_seconds. nil: DefaultBuckets.
	Buckets []float64
	// NativeHistogramBucketFactor, when above 1, makes polyrpc_server_handling_seconds a
	// native histogram as well, with this growth factor between buckets (1.1 is usual).
	NativeHistogramBucketFactor float64
	// ConstLabels are added to every metric (a node's name, for example).
	ConstLabels prometheus.Labels
}

// Metrics holds a server's metrics. It is a prometheus.Collector: register it with a
// registry. Its Middleware and Hooks feed it; Attach ties it to the server's budgets.
type Metrics struct {
	epoch time.Time // durations are read as time.Since(epoch): one clock read each

	started, handled, rejected *prometheus.CounterVec
	handling, batchItems       *prometheus.HistogramVec
	connections, subscriptions *prometheus.GaugeVec
	notifSent, notifDropped    *prometheus.CounterVec
	reqUsed, reqLimit          *prometheus.Desc
	pushUsed, pushLimit        *prometheus.Desc
	pushDropped, pushClosed    *prometheus.Desc
	pushWaited                 *prometheus.Desc
	known                      [len(knownTransports)]transportMetrics
	otherMu                    sync.Mutex
	other                      map[string]*transportMetrics // transports of other names
	subsMu                     sync.Mutex
	subs                       atomic.Pointer[[]*subMetrics] // by MethodInfo.Index
	srv                        atomic.Pointer[rpc.Server]
}

// knownTransports are the transports whose metrics are found without a lookup.
var knownTransports = [...]string{rpc.TransportInProc, rpc.TransportIPC, rpc.TransportHTTP, rpc.TransportWS}

// New returns the metrics of one server, registered nowhere yet.
func New(opts *Options) *Metrics {
	if opts == nil {
		opts = &Options{}
	}
	buckets := opts.Buckets
	if buckets == nil {
		buckets = DefaultBuckets
	}
	cl := opts.ConstLabels
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: cl}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: cl}, labels)
	}
	desc := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, cl) }
	m := &Metrics{
		epoch:    time.Now(),
		started:  counter("polyrpc_server_started_total", "JSON-RPC calls started on the server.", "transport", "method"),
		handled:  counter("polyrpc_server_handled_total", `JSON-RPC calls finished on the server, by code ("ok" or the JSON-RPC error code).`, "transport", "method", "code"),
		rejected: counter("polyrpc_server_rejected_total", "Messages refused before they became calls, by reason.", "transport", "reason"),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "polyrpc_server_handling_seconds",
			Help:                        "Time from the start of a JSON-RPC call to its answer, in seconds.",
			ConstLabels:                 cl,
			Buckets:                     buckets,
			NativeHistogramBucketFactor: opts.NativeHistogramBucketFactor,
		}, []string{"transport", "method"}),
		batchItems: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "polyrpc_server_batch_items",
			Help:        "Number of items in the JSON-RPC batches received.",
			ConstLabels: cl,
			Buckets:     []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}, []string{"transport"}),
		connections:   gauge("polyrpc_connections", "Open connections (an HTTP request counts as one while it runs).", "transport"),
		subscriptions: gauge("polyrpc_subscriptions", "Live subscriptions.", "method"),
		notifSent:     counter("polyrpc_notifications_sent_total", "Subscription notifications written to clients.", "method"),
		notifDropped:  counter("polyrpc_notifications_dropped_total", "Subscription notifications dropped under an overflow policy (as the lag notices report).", "method", "policy"),
		reqUsed:       desc("polyrpc_request_bytes_in_use", "Bytes of requests in flight, charged to the request-bytes budget."),
		reqLimit:      desc("polyrpc_request_bytes_limit", "The request-bytes budget (a negative value: no limit)."),
		pushUsed:      desc("polyrpc_notification_bytes_queued", "Bytes of notifications queued for all connections, charged to the notification budget."),
		pushLimit:     desc("polyrpc_notification_bytes_limit", "The budget of queued notification bytes (a negative value: no limit)."),
		pushDropped:   desc("polyrpc_notification_budget_dropped_total", "Notifications dropped because the notification budget was spent."),
		pushClosed:    desc("polyrpc_notification_budget_closed_total", "Connections closed because the notification budget was spent."),
		pushWaited:    desc("polyrpc_notification_budget_waited_total", "Times a NotifyWait producer waited for the notification budget."),
		other:         map[string]*transportMetrics{},
	}
	for i, name := range knownTransports {
		m.known[i].init(m, name)
	}
	return m
}

// Attach ties m to srv: it exports srv's request and notification budgets, and creates the
// series of every method registered on srv for each of transports (with value 0), so that
// dashboards and rate() see a method before its first call. Call it once the services are
// registered; methods registered later get their series with their first call.
func (m *Metrics) Attach(srv *rpc.Server, transports ...string) {
	m.srv.Store(srv)
	methods := srv.Methods(nil)
	for _, t := range transports {
		m.connections.WithLabelValues(t)
		for _, name := range methods {
			m.started.WithLabelValues(t, name)
			m.handled.WithLabelValues(t, name, codeOK)
			m.handling.WithLabelValues(t, name)
		}
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{m.reqUsed, m.reqLimit, m.pushUsed, m.pushLimit, m.pushDropped, m.pushClosed, m.pushWaited} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
	srv := m.srv.Load()
	if srv == nil {
		return
	}
	b := srv.RequestBudget()
	ch <- prometheus.MustNewConstMetric(m.reqUsed, prometheus.GaugeValue, float64(b.InUse()))
	ch <- prometheus.MustNewConstMetric(m.reqLimit, prometheus.GaugeValue, float64(b.Limit()))
	if nb := srv.NotificationBudget(); nb != nil {
		st := nb.Stats()
		ch <- prometheus.MustNewConstMetric(m.pushUsed, prometheus.GaugeValue, float64(st.Used))
		limit := float64(st.Limit)
		if st.Limit == math.MaxInt {
			limit = -1
		}
		ch <- prometheus.MustNewConstMetric(m.pushLimit, prometheus.GaugeValue, limit)
		ch <- prometheus.MustNewConstMetric(m.pushDropped, prometheus.CounterValue, float64(st.Dropped))
		ch <- prometheus.MustNewConstMetric(m.pushClosed, prometheus.CounterValue, float64(st.Closed))
		ch <- prometheus.MustNewConstMetric(m.pushWaited, prometheus.CounterValue, float64(st.Waited))
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.started, m.handled, m.rejected, m.handling, m.batchItems,
		m.connections, m.subscriptions, m.notifSent, m.notifDropped}
}
