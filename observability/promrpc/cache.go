package promrpc

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/prometheus/client_golang/prometheus"
)

// codeOK is the code label of a call answered without an error.
const codeOK = "ok"

// transportMetrics are the children of the per-call metrics for one transport, per method by
// MethodInfo.Index. Reads are lock-free; a method seen for the first time is added under mu
// (copy on write).
type transportMetrics struct {
	m       *Metrics
	name    string
	batch   prometheus.Observer
	mu      sync.Mutex
	methods atomic.Pointer[[]*methodMetrics]
}

// methodMetrics are the children of one (transport, method) pair.
type methodMetrics struct {
	started, ok prometheus.Counter
	handling    prometheus.Observer
	t           *transportMetrics
	label       string
	mu          sync.Mutex
	codes       atomic.Pointer[[]codeCounter] // error codes seen, copy on write under mu
}

type codeCounter struct {
	code int
	c    prometheus.Counter
}

func (t *transportMetrics) init(m *Metrics, name string) {
	t.m, t.name = m, name
	t.batch = m.batchItems.WithLabelValues(name)
}

// transport returns the metrics of the transport named name.
func (m *Metrics) transport(name string) *transportMetrics {
	switch name {
	case rpc.TransportInProc:
		return &m.known[0]
	case rpc.TransportIPC:
		return &m.known[1]
	case rpc.TransportHTTP:
		return &m.known[2]
	case rpc.TransportWS:
		return &m.known[3]
	}
	m.otherMu.Lock()
	defer m.otherMu.Unlock()
	t := m.other[name]
	if t == nil {
		t = &transportMetrics{}
		t.init(m, name)
		m.other[name] = t
	}
	return t
}

// method returns the metrics of method mi on t.
func (t *transportMetrics) method(mi *rpc.MethodInfo) *methodMetrics {
	if s := t.methods.Load(); s != nil && mi.Index < len(*s) {
		if mm := (*s)[mi.Index]; mm != nil {
			return mm
		}
	}
	return t.add(mi)
}

func (t *transportMetrics) add(mi *rpc.MethodInfo) *methodMetrics {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s []*methodMetrics
	if p := t.methods.Load(); p != nil {
		s = *p
	}
	if mi.Index < len(s) && s[mi.Index] != nil {
		return s[mi.Index]
	}
	n := max(len(s), mi.Index+1)
	next := make([]*methodMetrics, n, n+8)
	copy(next, s)
	label := methodLabel(mi)
	mm := &methodMetrics{
		started:  t.m.started.WithLabelValues(t.name, label),
		ok:       t.m.handled.WithLabelValues(t.name, label, codeOK),
		handling: t.m.handling.WithLabelValues(t.name, label),
		t:        t,
		label:    label,
	}
	next[mi.Index] = mm
	t.methods.Store(&next)
	return mm
}

// code returns the counter of calls of mm answered with error code.
func (mm *methodMetrics) code(code int) prometheus.Counter {
	if p := mm.codes.Load(); p != nil {
		for _, cc := range *p {
			if cc.code == code {
				return cc.c
			}
		}
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var s []codeCounter
	if p := mm.codes.Load(); p != nil {
		s = *p
		for _, cc := range s {
			if cc.code == code {
				return cc.c
			}
		}
	}
	c := mm.t.m.handled.WithLabelValues(mm.t.name, mm.label, strconv.Itoa(code))
	next := append(append(make([]codeCounter, 0, len(s)+1), s...), codeCounter{code, c})
	mm.codes.Store(&next)
	return c
}

// methodLabel returns the method label of m: its wire name, and for a subscription its
// subscribe method and its name ("chat_subscribe/messages").
func methodLabel(m *rpc.MethodInfo) string {
	if m.Subscription != "" {
		return m.Name + "/" + m.Subscription
	}
	return m.Name
}

// subMetrics are the children of the subscription metrics of one subscription method.
type subMetrics struct {
	live prometheus.Gauge
	sent prometheus.Counter
	// dropped by subscriptions.Policy (DropOldest, DropNewest: small numbers), made on use.
	mu      sync.Mutex
	dropped [4]prometheus.Counter
	label   string
}

// sub returns the subscription metrics of mi.
func (m *Metrics) sub(mi *rpc.MethodInfo) *subMetrics {
	if s := m.subs.Load(); s != nil && mi.Index < len(*s) {
		if sm := (*s)[mi.Index]; sm != nil {
			return sm
		}
	}
	m.subsMu.Lock()
	defer m.subsMu.Unlock()
	var s []*subMetrics
	if p := m.subs.Load(); p != nil {
		s = *p
	}
	if mi.Index < len(s) && s[mi.Index] != nil {
		return s[mi.Index]
	}
	next := make([]*subMetrics, max(len(s), mi.Index+1))
	copy(next, s)
	label := methodLabel(mi)
	sm := &subMetrics{
		live:  m.subscriptions.WithLabelValues(label),
		sent:  m.notifSent.WithLabelValues(label),
		label: label,
	}
	next[mi.Index] = sm
	m.subs.Store(&next)
	return sm
}

// droppedBy returns the counter of notifications of sm dropped under policy p.
func (sm *subMetrics) droppedBy(m *Metrics, p subscriptions.Policy) prometheus.Counter {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	i := int(p)
	if i >= len(sm.dropped) {
		return m.notifDropped.WithLabelValues(sm.label, p.String())
	}
	if sm.dropped[i] == nil {
		sm.dropped[i] = m.notifDropped.WithLabelValues(sm.label, p.String())
	}
	return sm.dropped[i]
}
