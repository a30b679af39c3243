package subscriptions

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// scripted is a Broker whose deliveries and failures a test decides.
type scripted struct {
	h Handler

	mu                         sync.Mutex
	subscribed                 map[string]int // Subscribe calls minus Unsubscribe calls
	calls                      []string
	failSubscribe, failHistory error
	failPublish                error
	history                    []Event
	top                        Position
	unbalanced                 string // a topic subscribed twice, or unsubscribed twice
}

func (b *scripted) Start(h Handler) error {
	b.h = h
	b.subscribed = make(map[string]int)
	return nil
}

func (b *scripted) Publish(ctx context.Context, topic string, data []byte) (Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failPublish != nil {
		return Position{}, b.failPublish
	}
	b.top.Offset++
	return b.top, nil // delivered later, by the test
}

func (b *scripted) Subscribe(topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failSubscribe != nil {
		return b.failSubscribe
	}
	if b.subscribed[topic]++; b.subscribed[topic] != 1 {
		b.unbalanced = topic
	}
	b.calls = append(b.calls, "+"+topic)
	return nil
}

func (b *scripted) Unsubscribe(topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subscribed[topic]--; b.subscribed[topic] != 0 {
		b.unbalanced = topic
	}
	b.calls = append(b.calls, "-"+topic)
	return nil
}

func (b *scripted) History(ctx context.Context, topic string, since *Position, limit int) ([]Event, Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var evs []Event
	for _, ev := range b.history {
		if since != nil && ev.Offset > since.Offset && len(evs) < limit {
			evs = append(evs, ev)
		}
	}
	return evs, b.top, b.failHistory
}

func (b *scripted) log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.calls, " ")
}

// TestFeedLiveGap: an event that does not follow the last one delivered (a gap in the Prev
// chain, or another epoch) comes after a position notice with recovered false.
func TestFeedLiveGap(t *testing.T) {
	b := &scripted{top: Position{Epoch: "e1", Offset: 10}}
	f := &Feed{Broker: b}
	k := newSink()
	c := NewConn(k, Limits{}, nil)
	defer c.Close(ErrConnClosed)
	s := subscribe(t, c, true)
	if err := f.Subscribe("t", s); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []Event{
		{Topic: "t", Offset: 12, Prev: 10, Epoch: "e1", Data: []byte("1")},
		{Topic: "t", Offset: 12, Prev: 10, Epoch: "e1", Data: []byte("1")}, // a duplicate: dropped
		{Topic: "t", Offset: 15, Prev: 13, Epoch: "e1", Data: []byte("2")}, // 13 was missed
		{Topic: "t", Offset: 16, Prev: 15, Epoch: "e1", Data: []byte("3")},
		{Topic: "t", Offset: 3, Prev: 0, Epoch: "e2", Data: []byte("4")}, // history lost
		{Topic: "t", Offset: 4, Prev: 3, Epoch: "e2", Data: []byte("5")},
		{Topic: "other", Offset: 5, Prev: 4, Epoch: "e2", Data: []byte("6")}, // nobody's
	} {
		b.h.Deliver(ev)
	}
	msgs := k.waitFor(t, "everything", count(8))
	var got []string
	for _, m := range msgs {
		n := parse(t, m)
		switch n.Method {
		case "nftest_subscription":
			got = append(got, string(n.Params.Result)+"@"+itoa(n.Params.Offset))
		case "nftest_subscriptionPosition":
			got = append(got, "pos:"+n.Params.Epoch+"/"+itoa(n.Params.Offset)+"/"+map[bool]string{true: "ok", false: "gap"}[*n.Params.Recovered])
		}
	}
	want := "pos:e1/10/ok 1@12 pos:e1/13/gap 2@15 3@16 pos:e2/0/gap 4@3 5@4"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestFeedBrokerCalls: the broker is subscribed to a topic for its first subscriber and
// unsubscribed after its last; its failures are returned, and its status is the Feed's Err.
func TestFeedBrokerCalls(t *testing.T) {
	b := &scripted{top: Position{Epoch: "e", Offset: 1}}
	f := &Feed{Broker: b}
	c := NewConn(newSink(), Limits{}, nil)
	defer c.Close(ErrConnClosed)
	s1, s2, s3 := subscribe(t, c, true), subscribe(t, c, true), subscribe(t, c, true)
	f.Subscribe("a", s1)
	f.Subscribe("a", s2)
	f.Subscribe("b", s3)
	s1.Unsubscribe()
	s2.Unsubscribe()
	if got := b.log(); got != "+a +b -a" {
		t.Fatalf("broker calls %q", got)
	}

	down := errors.New("broker down")
	b.failSubscribe = down
	if err := f.Subscribe("c", subscribe(t, c, true)); err != down {
		t.Fatalf("Subscribe with the broker down = %v", err)
	}
	b.failSubscribe, b.failHistory = nil, down
	s4 := subscribe(t, c, true)
	if err := f.SubscribeFrom(context.Background(), "d", s4, &Position{Epoch: "e"}); err != down {
		t.Fatalf("SubscribeFrom with History failing = %v", err)
	}
	if f.Len("c") != 0 || f.Len("d") != 0 || !strings.HasSuffix(b.log(), "+d -d") {
		t.Fatalf("failed subscriptions stayed: %d, %d; calls %q", f.Len("c"), f.Len("d"), b.log())
	}
	s4.Unsubscribe() // its end hook finds it gone already
	b.failPublish = down
	if _, err := f.Publish("b", 1); err != down {
		t.Fatalf("Publish with the broker down = %v", err)
	}
	b.failPublish = nil
	if n, err := f.Publish("b", 1); n != 1 || err != nil {
		t.Fatalf("Publish delivered later = %d, %v; want the topic's 1 subscriber", n, err)
	}
	if _, err := f.Topics(context.Background()); err != ErrNoTopicList {
		t.Fatalf("Topics of a broker without a list = %v", err)
	}

	if f.Err() != nil {
		t.Fatal("Err before any status")
	}
	b.h.Status(down)
	if f.Err() != down {
		t.Fatalf("Err = %v after the broker went down", f.Err())
	}
	b.h.Status(nil)
	if f.Err() != nil {
		t.Fatalf("Err = %v after the broker came back", f.Err())
	}
	c.Close(ErrConnClosed)
	if got := b.log(); !strings.HasSuffix(got, "-b") {
		t.Fatalf("broker calls %q: b not unsubscribed after its last subscriber", got)
	}
}

// TestFeedStamp: Stamp rewrites values live and replayed, once per event.
func TestFeedStamp(t *testing.T) {
	var calls sync.Map
	f := &Feed{Stamp: func(data []byte, off uint64) []byte {
		n, _ := calls.LoadOrStore(off, new(int))
		*n.(*int)++
		return append([]byte(`{"id":`+itoa(off)+`,"v":`), append(data, '}')...)
	}}
	ps := publishN(t, f, "t", 2)
	k := newSink()
	c := NewConn(k, Limits{}, nil)
	defer c.Close(ErrConnClosed)
	s1, s2 := subscribe(t, c, true), subscribe(t, c, true)
	f.SubscribeFrom(context.Background(), "t", s1, &ps[0])
	f.Subscribe("t", s2)
	p, _ := f.Send(context.Background(), "t", 3)
	msgs := k.waitFor(t, "all", count(5))
	r1, r2 := collect(t, s1, msgs), collect(t, s2, msgs)
	want1 := `{"id":` + itoa(ps[1].Offset) + `,"v":2} {"id":` + itoa(p.Offset) + `,"v":3}`
	if strings.Join(r1.results, " ") != want1 || strings.Join(r2.results, " ") != `{"id":`+itoa(p.Offset)+`,"v":3}` {
		t.Fatalf("s1 got %v, s2 got %v", r1.results, r2.results)
	}
	if n, _ := calls.Load(p.Offset); *n.(*int) != 1 {
		t.Fatalf("the live event was stamped %d times for two subscribers", *n.(*int))
	}
}

// TestFeedBrokerCallsConcurrent: while subscriptions join and leave at once, the broker's
// Subscribe and Unsubscribe of a topic alternate, ending unsubscribed.
func TestFeedBrokerCallsConcurrent(t *testing.T) {
	b := &scripted{top: Position{Epoch: "e"}}
	f := &Feed{Broker: b}
	var wg sync.WaitGroup
	for range 8 {
		c := NewConn(newSink(), Limits{}, nil)
		defer c.Close(ErrConnClosed)
		wg.Go(func() {
			for range 300 {
				s := subscribe(t, c, true)
				f.Subscribe("t", s)
				s.Unsubscribe()
			}
		})
	}
	wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.unbalanced != "" || b.subscribed["t"] != 0 {
		t.Fatalf("Subscribe and Unsubscribe did not alternate: %d calls, %d subscribed at the end", len(b.calls), b.subscribed["t"])
	}
}
