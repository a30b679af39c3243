package promrpc

import (
	"context"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
	"github.com/prometheus/client_golang/prometheus"
)

// idService's id method is the cheapest call there is: no params, a short string back.
type idService struct{}

func (idService) ID() string { return "id" }

// benchClient returns an in-process client of a server with the given middlewares.
func benchClient(b *testing.B, m *Metrics) *rpc.Client {
	opts := &rpc.Options{}
	if m != nil {
		opts.Middleware, opts.Hooks = []rpc.Middleware{m.Middleware()}, m.Hooks()
	}
	srv := rpc.NewServer(opts)
	if err := srv.Register("bench", idService{}); err != nil {
		b.Fatal(err)
	}
	if m != nil {
		m.Attach(srv, rpc.TransportInProc)
		prometheus.NewRegistry().MustRegister(m)
	}
	c, err := inproc.Dial(srv)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); srv.Stop() })
	return c
}

func call(b *testing.B, c *rpc.Client) {
	var s string
	if err := c.Call(context.Background(), &s, "bench_iD"); err != nil || s != "id" {
		b.Fatal(s, err)
	}
}

// BenchmarkCall is an in-process call without the metrics and with them.
func BenchmarkCall(b *testing.B) {
	for _, bc := range []struct {
		name string
		m    *Metrics
	}{{"none", nil}, {"prometheus", New(nil)}} {
		b.Run(bc.name, func(b *testing.B) {
			c := benchClient(b, bc.m)
			b.ReportAllocs()
			for b.Loop() {
				call(b, c)
			}
		})
	}
}

// BenchmarkOverhead makes in-process calls without and with the metrics in alternating
// rounds of 1000 (so that both see the same machine load) and reports each one's time per
// call and the overhead in percent, which must stay under 15.
func BenchmarkOverhead(b *testing.B) {
	plain, measured := benchClient(b, nil), benchClient(b, New(nil))
	const round = 1000
	var tPlain, tMeasured time.Duration
	for range round { // warm up both
		call(b, plain)
		call(b, measured)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += round {
		start := time.Now()
		for range round {
			call(b, plain)
		}
		mid := time.Now()
		for range round {
			call(b, measured)
		}
		tPlain += mid.Sub(start)
		tMeasured += time.Since(mid)
	}
	calls := float64((b.N + round - 1) / round * round)
	b.ReportMetric(float64(tPlain.Nanoseconds())/calls, "ns/call-none")
	b.ReportMetric(float64(tMeasured.Nanoseconds())/calls, "ns/call-prometheus")
	b.ReportMetric(100*(float64(tMeasured)/float64(tPlain)-1), "%overhead")
	b.ReportMetric(0, "ns/op")
}
