package subscriptions

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// positionNote checks that msg is a position notice of s and returns it.
func positionNote(t *testing.T, s *Subscription, msg string) note {
	t.Helper()
	n := parse(t, msg)
	if n.Method != "nftest_subscriptionPosition" || n.Params.Subscription != string(s.ID) || n.Params.Epoch == "" || n.Params.Recovered == nil {
		t.Fatalf("not a position notice of %s: %s", s.ID, msg)
	}
	return n
}

func TestFeed(t *testing.T) {
	var f Feed
	k1, k2 := newSink(), newSink()
	c1, c2 := NewConn(k1, Limits{}, nil), NewConn(k2, Limits{}, nil)
	defer c1.Close(ErrConnClosed)
	defer c2.Close(ErrConnClosed)
	a, b, other := subscribe(t, c1, true), subscribe(t, c2, true), subscribe(t, c2, true)
	if f.Subscribe("room", a) != nil || f.Subscribe("room", b) != nil || f.Subscribe("elsewhere", other) != nil {
		t.Fatal("Subscribe refused a live subscription")
	}
	if n, err := f.Publish("room", "hello"); n != 2 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	k1.waitFor(t, "a's notice and notification", count(2))
	msgs := k2.waitFor(t, "b's and other's notices, b's notification", count(3))
	var got []string
	for _, m := range msgs {
		if strings.Contains(m, string(b.ID)) {
			got = append(got, m)
		}
	}
	if len(got) != 2 {
		t.Fatalf("b got %q", got)
	}
	pos := positionNote(t, b, got[0])
	if pos.Params.Offset != 0 || !*pos.Params.Recovered {
		t.Errorf("b's first position notice: %s", got[0])
	}
	want := `{"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"` + string(b.ID) + `","result":"hello","offset":1}}` + "\n"
	if got[1] != want {
		t.Fatalf("b got\n%s\nwant\n%s", got[1], want)
	}
	a.Unsubscribe()
	if n := f.Len("room"); n != 1 {
		t.Fatalf("after a ended the room has %d subscribers", n)
	}
	if err := f.Subscribe("room", a); err != ErrUnsubscribed {
		t.Fatalf("Subscribe of an ended subscription = %v", err)
	}
	if _, err := f.Publish("room", make(chan int)); err == nil {
		t.Fatal("unencodable value published")
	}
	if n, _ := f.Publish("nobody", 1); n != 0 {
		t.Fatalf("empty topic reached %d", n)
	}
	c2.Close(ErrConnClosed)
	if f.Len("room") != 0 || f.Len("elsewhere") != 0 {
		t.Fatal("subscriptions of a closed connection stayed in the feed")
	}
	if f.Err() != nil {
		t.Fatalf("Err = %v", f.Err())
	}
}

// TestFeedConcurrent publishes while subscriptions come and go (run with -race).
func TestFeedConcurrent(t *testing.T) {
	var f Feed
	const workers, rounds = 8, 200
	conns := make([]*Conn, workers)
	for i := range conns {
		conns[i] = NewConn(newSink(), Limits{Policy: DropOldest}, nil)
	}
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				f.Publish("t", i)
			}
		}
	})
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			for range rounds {
				s := subscribe(t, c, true)
				f.Subscribe("t", s)
				runtime.Gosched()
				c.Unsubscribe(s.ID)
			}
		})
	}
	wg.Wait()
	close(stop)
	pub.Wait()
	if n := f.Len("t"); n != 0 {
		t.Fatalf("%d subscriptions left in the feed", n)
	}
	f.mu.RLock()
	left := len(f.topics)
	f.mu.RUnlock()
	if left != 0 {
		t.Fatalf("%d topics left in the feed", left)
	}
	mb := f.broker.(*MemoryBroker)
	mb.mu.Lock()
	subscribed := mb.topics["t"].subscribed
	mb.mu.Unlock()
	if subscribed {
		t.Fatal("the broker is still subscribed to the topic after its last subscriber left")
	}
	for _, c := range conns {
		c.Close(ErrConnClosed)
	}
}

// received is what one subscription got from a Feed: offsets and results, and its notices.
type received struct {
	offsets []uint64
	results []string
	notices []note
}

func collect(t *testing.T, s *Subscription, msgs []string) received {
	t.Helper()
	var r received
	for _, m := range msgs {
		if !strings.Contains(m, string(s.ID)) {
			continue
		}
		n := parse(t, m)
		switch n.Method {
		case "nftest_subscription":
			r.offsets = append(r.offsets, n.Params.Offset)
			r.results = append(r.results, string(n.Params.Result))
		default:
			r.notices = append(r.notices, n)
		}
	}
	return r
}

// TestFeedOneOrder: however many goroutines publish to a topic at once, every subscriber
// receives its values in one order, that of their offsets (run with -race).
func TestFeedOneOrder(t *testing.T) {
	var f Feed
	const conns, perConn, publishers, each = 6, 5, 8, 150
	var sinks []*sink
	var subs []*Subscription
	for range conns {
		k := newSink()
		c := NewConn(k, Limits{MaxQueued: -1, MaxQueuedBytes: -1}, nil)
		defer c.Close(ErrConnClosed)
		sinks = append(sinks, k)
		for range perConn {
			s := subscribe(t, c, true)
			if err := f.Subscribe("room", s); err != nil {
				t.Fatal(err)
			}
			subs = append(subs, s)
		}
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				if _, err := f.Publish("room", fmt.Sprintf("%d/%d", p, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	const total = publishers * each
	var first received
	for i, s := range subs {
		msgs := sinks[i/perConn].waitFor(t, "every notification", count(perConn*(total+1)))
		r := collect(t, s, msgs)
		if len(r.offsets) != total || len(r.notices) != 1 {
			t.Fatalf("subscriber %d got %d notifications and %d notices, want %d and 1", i, len(r.offsets), len(r.notices), total)
		}
		for j := 1; j < total; j++ {
			if r.offsets[j] <= r.offsets[j-1] {
				t.Fatalf("subscriber %d: offset %d after %d", i, r.offsets[j], r.offsets[j-1])
			}
		}
		if i == 0 {
			first = r
			continue
		}
		for j := range total {
			if r.results[j] != first.results[j] || r.offsets[j] != first.offsets[j] {
				t.Fatalf("subscriber %d's value %d is %s at %d, subscriber 0's %s at %d", i, j, r.results[j], r.offsets[j], first.results[j], first.offsets[j])
			}
		}
	}
	// Each publisher's values are in its own order too.
	next := make(map[string]int)
	for _, v := range first.results {
		var p, i int
		fmt.Sscanf(strings.Trim(v, `"`), "%d/%d", &p, &i)
		if key := fmt.Sprint(p); next[key] != i {
			t.Fatalf("publisher %d's value %d came when %d was due", p, i, next[key])
		} else {
			next[key]++
		}
	}
}

// publishN publishes the values 1..n to topic and returns their positions.
func publishN(t *testing.T, f *Feed, topic string, n int) []Position {
	t.Helper()
	var ps []Position
	for i := range n {
		p, err := f.Send(context.Background(), topic, i+1)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func TestFeedResume(t *testing.T) {
	// Ten values 1..10 published to a broker that keeps 8: 1 and 2 are forgotten.
	newFeed := func(maxReplay int) (*Feed, []Position) {
		f := &Feed{Broker: NewMemoryBroker(Retention{Events: 8}), MaxReplay: maxReplay}
		return f, publishN(t, f, "room", 10)
	}
	_, ps := newFeed(0)
	for _, tt := range []struct {
		name      string
		since     *Position // its epoch is replaced by the feed's, unless "other"
		maxReplay int
		recovered bool
		at        int      // index in ps of the position notice's offset
		values    []string // replayed, then the live 11
	}{
		{"fresh", nil, 0, true, 9, []string{"11"}},
		{"from the oldest kept", &ps[1], 0, true, 1, []string{"3", "4", "5", "6", "7", "8", "9", "10", "11"}},
		{"from the newest", &ps[9], 0, true, 9, []string{"11"}},
		{"forgotten", &ps[0], 0, false, 9, []string{"11"}},
		{"from the start", &Position{}, 0, false, 9, []string{"11"}},
		{"more than MaxReplay", &ps[1], 7, false, 9, []string{"11"}},
		{"MaxReplay", &ps[2], 7, true, 2, []string{"4", "5", "6", "7", "8", "9", "10", "11"}},
		{"another epoch", &Position{Epoch: "other", Offset: ps[1].Offset}, 0, false, 9, []string{"11"}},
		{"beyond the top", &Position{Offset: ps[9].Offset + 100}, 0, false, 9, []string{"11"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, ps := newFeed(tt.maxReplay)
			since := tt.since
			if since != nil && since.Epoch != "other" {
				since = &Position{Epoch: ps[0].Epoch, Offset: since.Offset}
			}
			k := newSink()
			c := NewConn(k, Limits{}, nil)
			defer c.Close(ErrConnClosed)
			n, _ := c.Begin("nftest")
			s := n.CreateSubscription()
			if err := f.SubscribeFrom(context.Background(), "room", s, since); err != nil {
				t.Fatal(err)
			}
			c.Finish(n, true)
			if n, err := f.Publish("room", 11); n != 1 || err != nil {
				t.Fatalf("Publish = %d, %v", n, err)
			}
			msgs := k.waitFor(t, "the notice and the values", func(m []string) bool {
				return len(m) > 0 && strings.Contains(m[len(m)-1], `"result":11`)
			})
			r := collect(t, s, msgs)
			if len(r.notices) != 1 {
				t.Fatalf("notices %v", r.notices)
			}
			p := r.notices[0].Params
			if p.Epoch != ps[0].Epoch || *p.Recovered != tt.recovered || p.Offset != ps[tt.at].Offset {
				t.Errorf("position notice %+v, want recovered %v at %d", p, tt.recovered, ps[tt.at].Offset)
			}
			if strings.Join(r.results, ",") != strings.Join(tt.values, ",") {
				t.Errorf("values %v, want %v", r.results, tt.values)
			}
			for i := 1; i < len(r.offsets); i++ {
				if r.offsets[i] <= r.offsets[i-1] {
					t.Errorf("offsets %v", r.offsets)
				}
			}
		})
	}
}

// TestFeedResumeWhilePublishing: subscribers resume from every position while a publisher
// runs; each receives every event after its position exactly once, in order (run with -race).
func TestFeedResumeWhilePublishing(t *testing.T) {
	f := &Feed{Broker: NewMemoryBroker(Retention{Events: -1}), MaxReplay: 100000}
	const before, during = 50, 400
	ps := publishN(t, f, "room", before)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		publishN(t, f, "room", during)
	})
	type resumed struct {
		s     *Subscription
		k     *sink
		since Position
	}
	var all []resumed
	for i := 0; i < before; i += 5 {
		k := newSink()
		c := NewConn(k, Limits{MaxQueued: -1, MaxQueuedBytes: -1}, nil)
		defer c.Close(ErrConnClosed)
		n, _ := c.Begin("nftest")
		s := n.CreateSubscription()
		if err := f.SubscribeFrom(context.Background(), "room", s, &ps[i]); err != nil {
			t.Fatal(err)
		}
		c.Finish(n, true)
		all = append(all, resumed{s, k, ps[i]})
	}
	<-done
	wg.Wait()
	hist, top, err := f.History(context.Background(), "room", &Position{}, -1)
	if err != nil || len(hist) != 0 {
		t.Fatalf("History with limit -1 = %d events, %v", len(hist), err)
	}
	hist, top, _ = f.History(context.Background(), "room", &Position{Epoch: top.Epoch}, before+during)
	if len(hist) != before+during {
		t.Fatalf("history has %d events", len(hist))
	}
	for _, r := range all {
		var want []uint64
		for _, ev := range hist {
			if ev.Offset > r.since.Offset {
				want = append(want, ev.Offset)
			}
		}
		msgs := r.k.waitFor(t, "every event after the position", count(1+len(want)))
		got := collect(t, r.s, msgs)
		if len(got.notices) != 1 || !*got.notices[0].Params.Recovered || got.notices[0].Params.Offset != r.since.Offset {
			t.Fatalf("from %d: notices %+v", r.since.Offset, got.notices)
		}
		if fmt.Sprint(got.offsets) != fmt.Sprint(want) {
			t.Fatalf("from %d: got offsets\n%v\nwant\n%v", r.since.Offset, got.offsets, want)
		}
	}
}

// TestFeedLagOffset: the lag notice of a Feed subscription tells how many were dropped and the
// offset of the first one.
func TestFeedLagOffset(t *testing.T) {
	var f Feed
	k := newSink()
	c := NewConn(k, Limits{MaxQueued: 4}, nil)
	defer c.Close(ErrConnClosed)
	s := subscribe(t, c, true, WithPolicy(DropOldest))
	k.stall()
	f.Subscribe("room", s)
	ps := publishN(t, &f, "room", 20)
	k.resume()
	msgs := k.waitFor(t, "the newest value", func(m []string) bool {
		return len(m) > 0 && strings.Contains(m[len(m)-1], `"result":20`)
	})
	// Values v were published at ps[v-1]: after value last, a lag notice must say that
	// next-last-1 were dropped from ps[last], next being the value that follows it.
	last, lags := 0, 0
	var lag *note
	for _, m := range msgs {
		n := parse(t, m)
		switch n.Method {
		case "nftest_subscriptionLag":
			lag = &n
			lags++
		case "nftest_subscription":
			var v int
			fmt.Sscan(string(n.Params.Result), &v)
			switch {
			case lag != nil && (lag.Params.Dropped != uint64(v-last-1) || lag.Params.Offset != ps[last].Offset):
				t.Errorf("lag notice %+v between values %d and %d; want %d dropped from offset %d", lag.Params, last, v, v-last-1, ps[last].Offset)
			case lag == nil && v != last+1:
				t.Errorf("value %d after %d without a lag notice", v, last)
			}
			last, lag = v, nil
		}
	}
	if lags == 0 {
		t.Errorf("no lag notice in %q", msgs)
	}
}
