package subscriptions_test

import (
	"context"
	"fmt"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// Counter is a service with one subscription, "count".
type Counter struct{}

// Count streams n, n+1, …, n+k-1 to the subscriber (called as counter_subscribe ["count",n,k]).
func (Counter) Count(ctx context.Context, n, k int) (*subscriptions.Subscription, error) {
	notifier, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported // HTTP
	}
	sub := notifier.CreateSubscription()
	go func() {
		for i := range k {
			// NotifyWait: this goroutine serves one subscriber and would rather wait for it than
			// drop a value. It returns an error once the subscription has ended.
			if err := sub.NotifyWait(context.Background(), n+i); err != nil {
				return
			}
		}
	}()
	return sub, nil // notifications are held until the client has the subscription's id
}

func Example() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("counter", Counter{}); err != nil {
		panic(err)
	}
	client, _ := inproc.Dial(srv)
	defer client.Close()

	ch := make(chan int)
	sub, err := client.Subscribe(context.Background(), "counter", ch, "count", 10, 3)
	if err != nil {
		panic(err)
	}
	for range 3 {
		fmt.Println(<-ch)
	}
	sub.Unsubscribe()
	// Output:
	// 10
	// 11
	// 12
}

// Room is a chat room service: every message sent to a room reaches every subscriber of the
// room, through one Feed.
type Room struct{ feed subscriptions.Feed }

// Messages subscribes to a room (room_subscribe ["messages", room]).
func (r *Room) Messages(ctx context.Context, room string) (*subscriptions.Subscription, error) {
	notifier, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	// A reader that falls behind loses the oldest messages and is told how many.
	sub := notifier.CreateSubscription(subscriptions.WithPolicy(subscriptions.DropOldest))
	r.feed.Subscribe(room, sub) // it leaves the room by itself when it ends
	return sub, nil
}

// Send publishes text to a room and returns how many subscribers it reached.
func (r *Room) Send(room, text string) (int, error) { return r.feed.Publish(room, text) }

func ExampleFeed() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	srv.Register("room", &Room{})
	alice, _ := inproc.Dial(srv)
	defer alice.Close()
	bob, _ := inproc.Dial(srv)
	defer bob.Close()

	ctx := context.Background()
	inbox := make(chan string, 1)
	if _, err := alice.Subscribe(ctx, "room", inbox, "messages", "lobby"); err != nil {
		panic(err)
	}
	var reached int
	bob.Call(ctx, &reached, "room_send", "lobby", "hello")
	fmt.Println(reached, <-inbox)
	// Output: 1 hello
}

// Log is a service whose subscribers can resume: a topic's values since a position.
type Log struct{ feed subscriptions.Feed }

// Follow subscribes to topic, after since when given (log_subscribe ["follow", topic, since]).
func (l *Log) Follow(ctx context.Context, topic string, since *subscriptions.Position) (*subscriptions.Subscription, error) {
	notifier, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	sub := notifier.CreateSubscription()
	if err := l.feed.SubscribeFrom(ctx, topic, sub, since); err != nil {
		return nil, err // the subscription ends with the call's error
	}
	return sub, nil
}

func ExampleFeed_SubscribeFrom() {
	log := &Log{}
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	srv.Register("log", log)
	client, _ := inproc.Dial(srv)
	defer client.Close()

	ctx := context.Background()
	var positions []subscriptions.Position
	for _, v := range []string{"a", "b", "c"} {
		p, _ := log.feed.Send(ctx, "events", v)
		positions = append(positions, p)
	}
	// A client that had received "a" resumes after it: "b" and "c" from the history, then
	// what is published next.
	ch := make(chan string, 4)
	sub, err := client.Subscribe(ctx, "log", ch, "follow", "events", positions[0])
	if err != nil {
		panic(err)
	}
	defer sub.Unsubscribe()
	log.feed.Publish("events", "d")
	for range 3 {
		fmt.Print(<-ch, " ")
	}
	fmt.Println()
	// Output: b c d
}

// printer is a Handler that prints what its broker delivers.
type printer struct{}

func (printer) Deliver(ev subscriptions.Event) { fmt.Printf("delivered %s\n", ev.Data) }
func (printer) Status(err error)               { fmt.Println("status:", err) }

// The Broker seam as a Feed uses it, on a memory broker that keeps two events per topic.
func ExampleMemoryBroker() {
	b := subscriptions.NewMemoryBroker(subscriptions.Retention{Events: 2})
	b.Start(printer{})
	b.Subscribe("t") // a Feed does this for a topic's first local subscriber
	ctx := context.Background()
	var ps []subscriptions.Position
	for _, v := range []string{`"a"`, `"b"`, `"c"`} {
		p, _ := b.Publish(ctx, "t", []byte(v))
		ps = append(ps, p)
	}
	// After "b": the history continues it (the first event returned follows it).
	evs, top, _ := b.History(ctx, "t", &ps[1], 10)
	fmt.Println(len(evs), evs[0].Prev == ps[1].Offset, top == ps[2])
	// From the start: "a" was forgotten, which the first event returned shows.
	start := subscriptions.Position{Epoch: top.Epoch}
	evs, _, _ = b.History(ctx, "t", &start, 10)
	fmt.Printf("%s %v\n", evs[0].Data, evs[0].Prev <= start.Offset)
	// Output:
	// delivered "a"
	// delivered "b"
	// delivered "c"
	// 1 true true
	// "b" false
}
