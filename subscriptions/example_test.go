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
