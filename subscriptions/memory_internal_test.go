package subscriptions

import (
	"context"
	"testing"
	"time"
)

func TestMemoryBrokerEpochs(t *testing.T) {
	a, b := NewMemoryBroker(Retention{}), NewMemoryBroker(Retention{})
	if a.epoch == "" || a.epoch == b.epoch {
		t.Fatalf("epochs %q and %q: want random ones", a.epoch, b.epoch)
	}
	if err := a.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(nil); err == nil {
		t.Fatal("started twice")
	}
}

func TestMemoryBrokerAge(t *testing.T) {
	b := NewMemoryBroker(Retention{Age: time.Minute})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return now }
	ctx := context.Background()
	var ps []Position
	for range 3 {
		p, _ := b.Publish(ctx, "t", []byte("1"))
		ps = append(ps, p)
		now = now.Add(25 * time.Second)
	}
	// Published at 0, 25 and 50 s; now 75 s: the first is over a minute old.
	evs, top, _ := b.History(ctx, "t", nil, 10)
	if len(evs) != 2 || evs[0].Offset != ps[1].Offset || top != ps[2] {
		t.Fatalf("history %v, top %v", evs, top)
	}
	if evs, _, _ := b.History(ctx, "t", &Position{Epoch: ps[0].Epoch}, 10); evs[0].Prev == 0 {
		t.Fatal("the loss of an expired event does not show")
	}
	now = now.Add(time.Hour)
	evs, top, _ = b.History(ctx, "t", nil, 10)
	if len(evs) != 0 || top != ps[2] {
		t.Fatalf("after an hour: history %v, top %v", evs, top)
	}
	if topics, _ := b.Topics(ctx); len(topics) != 0 {
		t.Fatalf("topics without events listed: %v", topics)
	}
}

func TestMemoryBrokerTopics(t *testing.T) {
	b := NewMemoryBroker(Retention{Topics: 2})
	b.Start(nil)
	ctx := context.Background()
	publish := func(topic string) Position {
		t.Helper()
		p, err := b.Publish(ctx, topic, []byte(`"x"`))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	names := func() string {
		topics, _ := b.Topics(ctx)
		s := ""
		for _, ti := range topics {
			s += ti.Topic + " "
		}
		return s
	}
	_, emptyTop, _ := b.History(ctx, "a", nil, 0)
	a := publish("a")
	publish("b")
	publish("a")
	b.Subscribe("s")
	publish("s")
	if got := names(); got != "a b s " {
		t.Fatalf("topics %q", got)
	}
	publish("c") // b is the least recently published idle topic
	if got := names(); got != "a c s " {
		t.Fatalf("after c: topics %q, want b forgotten", got)
	}
	publish("d")
	publish("e") // s has a subscriber: never forgotten
	if got := names(); got != "d e s " {
		t.Fatalf("after d, e: topics %q", got)
	}
	// a comes back: its first event does not continue anything a subscriber of the old a had.
	newA := publish("a")
	evs, _, _ := b.History(ctx, "a", &Position{Epoch: a.Epoch, Offset: a.Offset}, 10)
	if len(evs) != 1 || evs[0].Offset != newA.Offset || evs[0].Prev < a.Offset || evs[0].Prev <= emptyTop.Offset {
		t.Fatalf("the new a: %+v after the old a at %d", evs, a.Offset)
	}
	if ti, _ := b.Topics(ctx); ti[0].Topic != "a" || ti[0].Events != 1 || ti[0].Top != newA || ti[0].Last.IsZero() {
		t.Fatalf("Topics()[0] = %+v", ti[0])
	}
	// After its last subscriber, s is idle again and may go.
	b.Unsubscribe("s")
	publish("f")
	publish("g")
	if got := names(); got != "f g " {
		t.Fatalf("after s became idle: topics %q", got)
	}
}
