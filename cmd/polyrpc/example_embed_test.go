package main_test

// This file holds the README's "Embedding polyrpc" example, compiled and run by go test.

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// Clock's methods become clock_now and the subscription clock_subscribe("ticks", n).
type Clock struct{}

// Now returns the time in the named zone (by position, or by name: {"zone":"UTC"}).
func (Clock) Now(zone string) (string, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return "", err
	}
	return time.Now().In(loc).Format(time.RFC3339), nil
}

// Ticks sends the numbers 1 to n, one every 10 ms.
func (Clock) Ticks(ctx context.Context, n int) (*subscriptions.Subscription, error) {
	notifier, ok := subscriptions.NotifierFromContext(ctx)
	if !ok { // HTTP POST cannot carry notifications
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	sub := notifier.CreateSubscription()
	go func() { // ends with the subscription: Notify fails once it is gone
		for i := 1; i <= n; i++ {
			time.Sleep(10 * time.Millisecond)
			if sub.Notify(i) != nil {
				return
			}
		}
	}()
	return sub, nil
}

func Example_embed() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("clock", Clock{}, rpc.WithParamNames("Now", "zone")); err != nil {
		log.Fatal(err)
	}

	// HTTP POST and WebSocket on one port, as polyrpc serve does (ipc.Serve adds IPC).
	rpcH := httprpc.NewHandler(srv, nil)
	wsH := wsrpc.NewHandler(srv, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wsrpc.IsUpgrade(r) {
			wsH.ServeHTTP(w, r)
			return
		}
		rpcH.ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	defer hs.Close()

	ctx := context.Background()
	client, err := transports.Dial(ctx, "ws://"+ln.Addr().String(), nil) // or http://, an IPC path
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	var now string
	if err := client.CallNamed(ctx, &now, "clock_now", map[string]string{"zone": "UTC"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(now) > 0)

	ticks := make(chan int)
	sub, err := client.Subscribe(ctx, "clock", ticks, "ticks", 3)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Unsubscribe()
	for range 3 {
		fmt.Println(<-ticks)
	}
	// Output:
	// true
	// 1
	// 2
	// 3
}
