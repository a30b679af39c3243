package transports_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports"
	"github.com/polyrpc/polyrpc/transports/ipc"
)

// News is an example service with a resumable subscription: news_subscribe("headlines",
// since) follows the headlines of a Feed, after the position since when it is given.
type News struct{ feed subscriptions.Feed }

// Headlines follows the headlines, resuming after since.
func (n *News) Headlines(ctx context.Context, since *subscriptions.Position) (*subscriptions.Subscription, error) {
	notifier, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	sub := notifier.CreateSubscription()
	if err := n.feed.SubscribeFrom(ctx, "headlines", sub, since); err != nil {
		return nil, err
	}
	return sub, nil
}

// A client that reconnects: the server goes away while a headline is published, and comes
// back on the same address; the client redials, resumes its subscription from the last
// position it received, and the headline arrives on the same channel. (IPC here; a ws:// URL
// works alike.)
func Example_reconnect() {
	dir, err := os.MkdirTemp("", "news")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "news.ipc")

	news := &News{}
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("news", news); err != nil {
		log.Fatal(err)
	}
	ep, err := ipc.Serve(srv, path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { ep.Close() }()

	ctx := context.Background()
	states := make(chan rpc.ConnEvent, 100)
	client, err := transports.Dial(ctx, path, &transports.Options{Reconnect: &rpc.ReconnectOptions{
		OnConnState: func(ev rpc.ConnEvent) { states <- ev }, // lost, each failed redial, reconnected
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	headlines := make(chan string)
	sub, err := client.Subscribe(ctx, "news", headlines, "headlines")
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Unsubscribe()

	news.feed.Publish("headlines", "polyrpc ships reconnecting clients")
	fmt.Println(<-headlines)

	ep.Close() // the server goes away
	for ev := range states {
		if !ev.Up && ev.Attempt == 0 {
			fmt.Println("connection lost")
			break
		}
	}
	news.feed.Publish("headlines", "published while the client was away")
	if ep, err = ipc.Serve(srv, path, nil); err != nil { // and comes back
		log.Fatal(err)
	}
	for ev := range states {
		if ev.Up {
			fmt.Println("reconnected")
			break
		}
	}
	select {
	case h := <-headlines:
		fmt.Println(h)
	case g := <-sub.Gaps():
		fmt.Println(g) // had the server lost the headline, the gap would say so
	}
	// Output:
	// polyrpc ships reconnecting clients
	// connection lost
	// reconnected
	// published while the client was away
}
