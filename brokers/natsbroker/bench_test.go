package natsbroker

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// stamped is a broker handler that sends, for every event delivered, the time since the
// publish stamped in its first 8 bytes (nanoseconds of time.Since(epoch)).
type stamped struct {
	epoch time.Time
	lat   chan time.Duration
}

func (h *stamped) Deliver(ev subscriptions.Event) {
	h.lat <- time.Since(h.epoch) - time.Duration(binary.BigEndian.Uint64(ev.Data))
}
func (h *stamped) Status(error) {}

// reportLatency reports the percentiles of lat as the benchmark's metrics.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Microsecond)
	}
	b.ReportMetric(at(0.5), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDelivery measures publish→delivery on an embedded nats-server, one event at a time
// (each publish waits for the delivery of the one before), so that it is latency, not
// queueing: "raw" is core NATS pub/sub between two connections, the floor; "broker" one node
// publishing and another subscribed; "broker-2-publishers" two nodes publishing to the same
// topic at once (their conditional appends conflict and retry) and a third subscribed.
func BenchmarkDelivery(b *testing.B) {
	s := runServer(b, b.TempDir(), 0)
	b.Run("raw", func(b *testing.B) {
		pub, err := nats.Connect(s.ClientURL())
		if err != nil {
			b.Fatal(err)
		}
		defer pub.Close()
		sub, err := nats.Connect(s.ClientURL())
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		got := make(chan struct{}, 1)
		if _, err := sub.Subscribe("raw.bench", func(*nats.Msg) { got <- struct{}{} }); err != nil {
			b.Fatal(err)
		}
		sub.Flush()
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			if err := pub.Publish("raw.bench", []byte("x")); err != nil {
				b.Fatal(err)
			}
			<-got
			lat = append(lat, time.Since(t0))
		}
		reportLatency(b, lat)
	})
	for _, publishers := range []int{1, 2} {
		name := "broker"
		if publishers == 2 {
			name = "broker-2-publishers"
		}
		b.Run(name, func(b *testing.B) {
			h := &stamped{epoch: time.Now(), lat: make(chan time.Duration, 64)}
			sub := newBroker(b, s.ClientURL(), Options{Name: "sub", Stream: "bench" + name, Subject: "bench" + name})
			if err := sub.Start(h); err != nil {
				b.Fatal(err)
			}
			if err := sub.Subscribe("room"); err != nil {
				b.Fatal(err)
			}
			pubs := make([]*Broker, publishers)
			for i := range pubs {
				pubs[i] = newBroker(b, s.ClientURL(), Options{Name: "pub", Stream: "bench" + name, Subject: "bench" + name})
				if err := pubs[i].Start(newHandler()); err != nil {
					b.Fatal(err)
				}
			}
			publish := func(p *Broker) {
				data := binary.BigEndian.AppendUint64(nil, uint64(time.Since(h.epoch)))
				if _, err := p.Publish(context.Background(), "room", data); err != nil {
					b.Error(err)
				}
			}
			publish(pubs[0]) // the consumer is up once the first event arrives
			<-h.lat
			lat := make([]time.Duration, 0, b.N*publishers)
			for b.Loop() {
				var wg sync.WaitGroup
				for _, p := range pubs {
					wg.Go(func() { publish(p) })
				}
				wg.Wait()
				for range pubs {
					select {
					case d := <-h.lat:
						lat = append(lat, d)
					case <-time.After(10 * time.Second):
						b.Fatal("an event was not delivered within 10 s")
					}
				}
			}
			reportLatency(b, lat)
		})
	}
}
