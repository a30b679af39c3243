package scaleout

import (
	"testing"
	"time"
)

// BenchmarkScaleOutLatency is the proof's latency benchmark on its own, every setup in one run:
// publish→delivery through haproxy for nQuiet subscribers of a room of their own receiving
// nQuietMsgs messages at lightRate, with one node on the memory broker, then three nodes on
// NATS JetStream and on Redis. It reports each setup's p50 and p99 in milliseconds, and for
// the brokers the p99 they add to the single node's (the target with NATS: ≤ 2 ms). One
// iteration is a whole run (about a minute):
//
//	go test -run '^$' -bench ScaleOutLatency -benchtime 1x ./integration_test/scaleout/...
func BenchmarkScaleOutLatency(b *testing.B) {
	need(b, "haproxy", "haproxy")
	var single time.Duration // the memory node's p99, which the brokers' add to
	report := func(b *testing.B, lat [3]time.Duration) {
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(float64(lat[0])/float64(time.Millisecond), "p50-ms")
		b.ReportMetric(float64(lat[1])/float64(time.Millisecond), "p99-ms")
	}
	b.Run("memory-1-node", func(b *testing.B) {
		for b.Loop() {
			lat := quietLatency(b, startLB(b, startNode(b, "solo", "memory")))
			single = lat[1]
			report(b, lat)
		}
	})
	for _, kind := range []string{"nats", "redis"} {
		b.Run(kind+"-3-nodes", func(b *testing.B) {
			for b.Loop() {
				br := startBroker(b, kind)
				nodes := []*node{startNode(b, "n1", br.url()), startNode(b, "n2", br.url()), startNode(b, "n3", br.url())}
				waitReady(b, 200, nodes...)
				lat := quietLatency(b, startLB(b, nodes...))
				report(b, lat)
				if single > 0 {
					b.ReportMetric(float64(lat[1]-single)/float64(time.Millisecond), "added-p99-ms")
				}
			}
		})
	}
}
