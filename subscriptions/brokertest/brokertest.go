// Package brokertest is the conformance suite of [subscriptions.Broker]: a broker adapter's
// tests call [Run] with a function that makes a broker, and the suite checks what a Feed
// relies on (order, no duplicates, no gaps, history since a position and the latest N,
// positions, epochs, loss detection, the Prev chain, unsubscribing, concurrent publishers).
package brokertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Retained is the retention the suite expects of the brokers it is given: each topic keeps at
// least its latest Retained events, and forgets older ones beyond 2×Retained.
const Retained = 64

// timeout bounds every wait for a delivery.
const timeout = 10 * time.Second

// Run runs the suite as subtests of t. newBroker returns a new broker, not started, that keeps
// the events of each topic as [Retained] says; it registers its own cleanup with t. The suite
// uses topic names of its own (letters, digits and '-', unique to each run), so brokers may
// share a server.
func Run(t *testing.T, newBroker func(t *testing.T) subscriptions.Broker) {
	RunWith(t, newBroker, Options{})
}

// Options are the optional parts of the suite.
type Options struct {
	// Lose, if set, makes the server of the brokers newBroker returns lose every topic's
	// history (a restart without its data, a deleted stream), as the broker of the test
	// (started, subscribed) watches. The suite then checks that the events published
	// afterwards carry a new epoch, delivered and in History, so that positions of the old one
	// do not resume.
	Lose func(t testing.TB)
}

// RunWith is Run with the optional parts that o enables.
func RunWith(t *testing.T, newBroker func(t *testing.T) subscriptions.Broker, o Options) {
	type test struct {
		name string
		run  func(testing.TB, subscriptions.Broker, *recorder)
	}
	var extra []test
	if o.Lose != nil {
		extra = append(extra, test{"Epochs", func(t testing.TB, b subscriptions.Broker, rec *recorder) { testEpochs(t, b, rec, o.Lose) }})
	}
	for _, tc := range append([]test{
		{"Positions", testPositions},
		{"History", testHistory},
		{"Delivery", testDelivery},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"ConcurrentTopics", testConcurrentTopics},
		{"Retention", testRetention},
		{"Cancelled", testCancelled},
	}, extra...) {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroker(t)
			rec := newRecorder()
			if err := b.Start(rec); err != nil {
				t.Fatalf("Start: %v", err)
			}
			tc.run(t, b, rec)
			if topic := rec.overlapped(); topic != "" {
				t.Errorf("two events of topic %s were delivered at once", topic)
			}
		})
	}
}

// newTopic returns a topic name unique to this run.
func newTopic(name string) string {
	var b [6]byte
	rand.Read(b[:])
	return "bt-" + name + "-" + hex.EncodeToString(b[:])
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

// publish publishes n values to topic and returns their positions, checking that they
// increase within one epoch.
func publish(t testing.TB, b subscriptions.Broker, topic string, n int) []subscriptions.Position {
	t.Helper()
	var ps []subscriptions.Position
	for i := range n {
		p, err := b.Publish(ctx(t), topic, value(topic, i))
		if err != nil {
			t.Fatalf("Publish to %s: %v", topic, err)
		}
		checkPosition(t, p)
		if i > 0 && (p.Epoch != ps[i-1].Epoch || p.Offset <= ps[i-1].Offset) {
			t.Fatalf("position %+v after %+v", p, ps[i-1])
		}
		ps = append(ps, p)
	}
	return ps
}

func value(topic string, i int) []byte { return fmt.Appendf(nil, `{"topic":%q,"i":%d}`, topic, i) }

func checkPosition(t testing.TB, p subscriptions.Position) {
	t.Helper()
	if p.Epoch == "" || p.Offset < 1 || p.Offset > subscriptions.MaxOffset {
		t.Fatalf("position %+v: want an epoch and an offset from 1 to 2^53", p)
	}
}

// checkChain checks that evs are the events at ps, each following the one before.
func checkChain(t testing.TB, what string, evs []subscriptions.Event, topic string, ps []subscriptions.Position, values func(i int) []byte) {
	t.Helper()
	if len(evs) != len(ps) {
		t.Fatalf("%s: %d events, want %d", what, len(evs), len(ps))
	}
	for i, ev := range evs {
		switch {
		case ev.Topic != topic || ev.Epoch != ps[i].Epoch || ev.Offset != ps[i].Offset:
			t.Fatalf("%s: event %d is %s/%s/%d, want %s/%s/%d", what, i, ev.Topic, ev.Epoch, ev.Offset, topic, ps[i].Epoch, ps[i].Offset)
		case i > 0 && ev.Prev != evs[i-1].Offset:
			t.Fatalf("%s: event %d at %d has Prev %d, want %d", what, i, ev.Offset, ev.Prev, evs[i-1].Offset)
		case ev.Prev >= ev.Offset:
			t.Fatalf("%s: event at %d has Prev %d", what, ev.Offset, ev.Prev)
		case values != nil && !bytes.Equal(ev.Data, values(i)):
			t.Fatalf("%s: event %d carries %s, want %s", what, i, ev.Data, values(i))
		}
	}
}

func history(t testing.TB, b subscriptions.Broker, topic string, since *subscriptions.Position, limit int) ([]subscriptions.Event, subscriptions.Position) {
	t.Helper()
	evs, top, err := b.History(ctx(t), topic, since, limit)
	if err != nil {
		t.Fatalf("History(%s, %v, %d): %v", topic, since, limit, err)
	}
	return evs, top
}

// testPositions: positions increase within one epoch, History and the top agree with them, and
// a topic's first event continues the top read while it was empty.
func testPositions(t testing.TB, b subscriptions.Broker, _ *recorder) {
	topic := newTopic("pos")
	evs, empty := history(t, b, topic, nil, 10)
	if len(evs) != 0 || empty.Epoch == "" {
		t.Fatalf("an empty topic has %d events and top %+v", len(evs), empty)
	}
	ps := publish(t, b, topic, 10)
	evs, top := history(t, b, topic, nil, 100)
	checkChain(t, "History", evs, topic, ps, func(i int) []byte { return value(topic, i) })
	if top != ps[9] {
		t.Errorf("top %+v, want %+v", top, ps[9])
	}
	if empty.Epoch != ps[0].Epoch || evs[0].Prev != empty.Offset {
		t.Errorf("the first event (Prev %d, epoch %s) does not continue the empty topic's top %+v", evs[0].Prev, ps[0].Epoch, empty)
	}
}

// testHistory: events since a position, the latest N, limits.
func testHistory(t testing.TB, b subscriptions.Broker, _ *recorder) {
	topic := newTopic("hist")
	_, empty := history(t, b, topic, nil, 0)
	ps := publish(t, b, topic, 10)
	start := &subscriptions.Position{Epoch: ps[0].Epoch, Offset: empty.Offset}
	other := &subscriptions.Position{Epoch: "brokertest-other", Offset: ps[3].Offset}
	for _, tt := range []struct {
		name     string
		since    *subscriptions.Position
		limit    int
		from, to int // the events expected: ps[from:to]
	}{
		{"since the start", start, 100, 0, 10},
		{"since the fourth", &ps[3], 100, 4, 10},
		{"since the fourth, 2", &ps[3], 2, 4, 6},
		{"since the newest", &ps[9], 100, 10, 10},
		{"since the fourth in another epoch", other, 100, 4, 10},
		{"since, limit 0", &ps[3], 0, 10, 10},
		{"since, limit -1", &ps[3], -1, 10, 10},
		{"latest 3", nil, 3, 7, 10},
		{"latest 100", nil, 100, 0, 10},
		{"latest 0", nil, 0, 10, 10},
	} {
		evs, top := history(t, b, topic, tt.since, tt.limit)
		checkChain(t, tt.name, evs, topic, ps[tt.from:tt.to], func(i int) []byte { return value(topic, tt.from+i) })
		if top != ps[9] {
			t.Errorf("%s: top %+v, want %+v", tt.name, top, ps[9])
		}
		if len(evs) > 0 && tt.since != nil && evs[0].Prev != tt.since.Offset {
			t.Errorf("%s: the first event's Prev is %d, not the position's offset %d", tt.name, evs[0].Prev, tt.since.Offset)
		}
	}
}

// testDelivery: the events of subscribed topics only, as published; none after Unsubscribe;
// again after a new Subscribe.
func testDelivery(t testing.TB, b subscriptions.Broker, rec *recorder) {
	topic, unsubscribed, sentinel := newTopic("sub"), newTopic("unsub"), newTopic("sentinel")
	for _, tp := range []string{topic, sentinel} {
		if err := b.Subscribe(tp); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
	}
	ps := publish(t, b, topic, 5)
	publish(t, b, unsubscribed, 3)
	checkChain(t, "delivered", rec.wait(t, topic, 5), topic, ps, func(i int) []byte { return value(topic, i) })

	if err := b.Unsubscribe(topic); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	later := publish(t, b, topic, 2)
	publish(t, b, sentinel, 1)
	rec.wait(t, sentinel, 1)
	time.Sleep(100 * time.Millisecond) // a few deliveries may be in flight after Unsubscribe
	rec.quiet(t, unsubscribed, 0)
	// Deliveries in flight when Unsubscribe returned are allowed; none published after.
	n := len(rec.events(topic))
	for _, ev := range rec.events(topic) {
		if ev.Offset >= later[0].Offset {
			t.Errorf("%s: the event at %d, published after Unsubscribe, was delivered", topic, ev.Offset)
		}
	}

	if err := b.Subscribe(topic); err != nil {
		t.Fatalf("Subscribe again: %v", err)
	}
	again := publish(t, b, topic, 1)
	evs := rec.wait(t, topic, n+1)
	last := evs[len(evs)-1]
	if last.Offset != again[0].Offset || last.Prev != later[1].Offset {
		t.Errorf("after subscribing again: event at %d after %d, want at %d after %d", last.Offset, last.Prev, again[0].Offset, later[1].Offset)
	}
}

// testConcurrentPublishers: one topic, many publishers: delivered once each, in offset order,
// every event following the one before.
func testConcurrentPublishers(t testing.TB, b subscriptions.Broker, rec *recorder) {
	const publishers, each = 8, 40
	topic := newTopic("conc")
	if err := b.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	published := publishConcurrently(t, b, rec, topic, publishers, each)
	evs := rec.wait(t, topic, publishers*each)
	checkDelivered(t, topic, evs, published)
	// The history holds the same events, in the same order (as many as it keeps).
	hist, _ := history(t, b, topic, nil, Retained)
	if len(hist) != Retained {
		t.Fatalf("the history has %d events, want the latest %d", len(hist), Retained)
	}
	tail := evs[len(evs)-Retained:]
	for i := range hist {
		if hist[i].Offset != tail[i].Offset || hist[i].Prev != tail[i].Prev || !bytes.Equal(hist[i].Data, tail[i].Data) {
			t.Fatalf("history event %d is at %d, the delivered one at %d", i, hist[i].Offset, tail[i].Offset)
		}
	}
}

// testConcurrentTopics: several topics published to at once each keep their own order.
func testConcurrentTopics(t testing.TB, b subscriptions.Broker, rec *recorder) {
	const topics, publishers, each = 4, 3, 30
	var wg sync.WaitGroup
	names := make([]string, topics)
	published := make([]map[uint64][]byte, topics)
	for i := range names {
		names[i] = newTopic(fmt.Sprint("multi", i))
		if err := b.Subscribe(names[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range names {
		wg.Go(func() { published[i] = publishConcurrently(t, b, rec, names[i], publishers, each) })
	}
	wg.Wait()
	for i, topic := range names {
		checkDelivered(t, topic, rec.wait(t, topic, publishers*each), published[i])
	}
}

// publishConcurrently publishes from several goroutines and returns the values by offset.
func publishConcurrently(t testing.TB, b subscriptions.Broker, rec *recorder, topic string, publishers, each int) map[uint64][]byte {
	var mu sync.Mutex
	published := make(map[uint64][]byte)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			var last uint64
			for i := range each {
				// Keep within retention: a delivery that falls Retained events behind may find
				// them forgotten, as it should (a Feed then reports the gap). The suite tests
				// order and completeness here, not how fast a consumer keeps up.
				for deadline := time.Now().Add(timeout); ; time.Sleep(time.Millisecond) {
					mu.Lock()
					ahead := len(published) - rec.count(topic)
					mu.Unlock()
					if ahead < Retained/2 {
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("%s: deliveries stayed %d events behind for %v", topic, ahead, timeout)
						return
					}
				}
				v := value(topic, p*each+i)
				pos, err := b.Publish(ctx(t), topic, v)
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				if pos.Offset <= last {
					t.Errorf("publisher %d: offset %d after %d", p, pos.Offset, last)
				}
				last = pos.Offset
				mu.Lock()
				if _, dup := published[pos.Offset]; dup {
					t.Errorf("offset %d given twice", pos.Offset)
				}
				published[pos.Offset] = v
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return published
}

// checkDelivered checks that evs are exactly the published events, once each, in offset order
// and in one chain.
func checkDelivered(t testing.TB, topic string, evs []subscriptions.Event, published map[uint64][]byte) {
	t.Helper()
	if len(evs) != len(published) {
		t.Fatalf("%s: %d events delivered, %d published", topic, len(evs), len(published))
	}
	for i, ev := range evs {
		switch v, ok := published[ev.Offset]; {
		case !ok:
			t.Fatalf("%s: delivered an event at %d that no Publish returned", topic, ev.Offset)
		case !bytes.Equal(v, ev.Data):
			t.Fatalf("%s: event at %d carries %s, published %s", topic, ev.Offset, ev.Data, v)
		case i > 0 && (ev.Offset <= evs[i-1].Offset || ev.Prev != evs[i-1].Offset):
			t.Fatalf("%s: event %d at %d (Prev %d) after one at %d", topic, i, ev.Offset, ev.Prev, evs[i-1].Offset)
		case i > 0 && ev.Epoch != evs[i-1].Epoch:
			t.Fatalf("%s: epoch %s after %s", topic, ev.Epoch, evs[i-1].Epoch)
		}
	}
}

// testRetention: what retention forgot is detectable (the first event kept has a Prev beyond
// the position), what it kept is recoverable.
func testRetention(t testing.TB, b subscriptions.Broker, _ *recorder) {
	topic := newTopic("ret")
	const n = 3 * Retained
	ps := publish(t, b, topic, n)
	evs, top := history(t, b, topic, nil, 4*Retained)
	if len(evs) < Retained || len(evs) > 2*Retained {
		t.Fatalf("the topic kept %d of %d events; want %d to %d", len(evs), n, Retained, 2*Retained)
	}
	if top != ps[n-1] {
		t.Fatalf("top %+v, want %+v", top, ps[n-1])
	}
	kept := ps[n-len(evs):]
	checkChain(t, "kept", evs, topic, kept, func(i int) []byte { return value(topic, n-len(evs)+i) })

	lost, _ := history(t, b, topic, &ps[0], 4*Retained)
	if len(lost) == 0 || lost[0].Prev <= ps[0].Offset {
		t.Errorf("history since the first of %d events (kept %d) shows no loss: %d events, the first after %d", n, len(evs), len(lost), lost[0].Prev)
	}
	edge := ps[n-len(evs)-1] // the newest event forgotten: resuming from it misses nothing
	got, _ := history(t, b, topic, &edge, 4*Retained)
	if len(got) != len(evs) || got[0].Prev != edge.Offset {
		t.Errorf("history since the newest forgotten event: %d events, want %d following it", len(got), len(evs))
	}
	latest, _ := history(t, b, topic, nil, 5)
	checkChain(t, "latest 5", latest, topic, ps[n-5:], nil)
}

// testCancelled: a cancelled context fails Publish and History.
func testCancelled(t testing.TB, b subscriptions.Broker, _ *recorder) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	topic := newTopic("cancel")
	if _, err := b.Publish(c, topic, value(topic, 0)); err == nil {
		t.Error("Publish with a cancelled context succeeded")
	}
	if _, _, err := b.History(c, topic, nil, 1); err == nil {
		t.Error("History with a cancelled context succeeded")
	}
}

// testEpochs: after the server lost its history, events (published, delivered, read) carry
// a new epoch.
func testEpochs(t testing.TB, b subscriptions.Broker, rec *recorder, lose func(testing.TB)) {
	topic := newTopic("epoch")
	if err := b.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	ps := publish(t, b, topic, 3)
	rec.wait(t, topic, 3)
	lose(t)
	// The broker may fail calls until it notices and recovers: retry for a while.
	var p subscriptions.Position
	deadline := time.Now().Add(timeout)
	for {
		var err error
		if p, err = b.Publish(ctx(t), topic, value(topic, 3)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish after the loss of the history still fails after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkPosition(t, p)
	if p.Epoch == ps[0].Epoch {
		t.Fatalf("the epoch %s survived the loss of the history", p.Epoch)
	}
	evs, top := history(t, b, topic, &ps[2], 10)
	if top != p || len(evs) > 1 || len(evs) == 1 && (evs[0].Offset != p.Offset || evs[0].Epoch != p.Epoch) {
		t.Errorf("History since the old position: %d events, top %+v; want at most the new event and top %+v", len(evs), top, p)
	}
	evs = rec.wait(t, topic, 4)
	if last := evs[3]; last.Epoch != p.Epoch || last.Offset != p.Offset || !bytes.Equal(last.Data, value(topic, 3)) {
		t.Errorf("delivered %s/%d after the loss, published %s/%d", last.Epoch, last.Offset, p.Epoch, p.Offset)
	}
}
