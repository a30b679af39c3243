package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/event"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// This file starts the servers of the push scenarios (pressure_bench_test.go,
// fanout_bench_test.go), transport "push" of hostServers: calls and subscriptions on one server,
// over HTTP, WebSocket and IPC (target fields PushHTTP, PushWS, PushIPC), namespaces
//
//   - test: netService (test_ping);
//   - nftest: the ticks subscription (nftest_subscribe ["ticks", n, start]), and topics
//     (nftest_subscribe ["topic", name], nftest_publish(name, value) returning how many
//     subscribers it reached, nftest_subscribers(name)).
//
// polyrpc serves rpctest.Subs (a subscriptions.Feed for topics); go-ethereum gethPush below,
// whose topics are its idiomatic event feed (event.FeedOf), one per topic, with a goroutine per subscription
// that forwards the feed's values with Notifier.Notify; the ceiling only fans out (WebSocket,
// fanoutCeiling in fanout_bench_test.go).

// gethPush is the go-ethereum push service: gethSubs's ticks and event.FeedOf topics.
type gethPush struct {
	gethSubs

	mu     sync.Mutex
	feeds  map[string]*event.FeedOf[any]
	counts map[string]*atomic.Int64
}

func (s *gethPush) topic(name string) (*event.FeedOf[any], *atomic.Int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feeds == nil {
		s.feeds, s.counts = map[string]*event.FeedOf[any]{}, map[string]*atomic.Int64{}
	}
	f := s.feeds[name]
	if f == nil {
		f = new(event.FeedOf[any])
		s.feeds[name], s.counts[name] = f, new(atomic.Int64)
	}
	return f, s.counts[name]
}

// Topic forwards what Publish sends to name, as go-ethereum's own subscriptions (newHeads,
// logs) forward their event feeds: a channel subscribed to the feed, read by a goroutine that
// notifies.
func (s *gethPush) Topic(ctx context.Context, name string) (*gethrpc.Subscription, error) {
	notifier, ok := gethrpc.NotifierFromContext(ctx)
	if !ok {
		return nil, gethrpc.ErrNotificationsUnsupported
	}
	feed, count := s.topic(name)
	sub := notifier.CreateSubscription()
	ch := make(chan any, 128)
	fs := feed.Subscribe(ch)
	count.Add(1)
	go func() {
		defer count.Add(-1)
		defer fs.Unsubscribe()
		for {
			select {
			case v := <-ch:
				if notifier.Notify(sub.ID, v) != nil {
					return
				}
			case <-sub.Err():
				return
			case <-fs.Err():
				return
			}
		}
	}()
	return sub, nil
}

// Publish sends value to the subscribers of topic and returns how many it reached.
func (s *gethPush) Publish(topic string, value any) int {
	feed, _ := s.topic(topic)
	return feed.Send(value)
}

// Subscribers returns the number of subscriptions to topic.
func (s *gethPush) Subscribers(topic string) int {
	_, count := s.topic(topic)
	return int(count.Load())
}

// hostPushServers starts the push servers of kind in this process.
func hostPushServers(kind string) (*netTarget, error) {
	t := &netTarget{Kind: kind}
	var httpH, wsH http.Handler
	var serveIPC func(net.Listener)
	var polySrv *rpc.Server
	switch kind {
	case "polyrpc":
		srv := rpc.NewServer(&rpc.Options{Logger: subLogger()})
		if err := srv.Register("test", netService{}); err != nil {
			return nil, err
		}
		if err := srv.Register("nftest", &rpctest.Subs{}); err != nil {
			return nil, err
		}
		polySrv = srv
		t.closers = append(t.closers, srv.Stop)
		httpH, wsH = httprpc.NewHandler(srv, nil), wsrpc.NewHandler(srv, nil)
	case "geth":
		srv := gethrpc.NewServer()
		if err := srv.RegisterName("test", netService{}); err != nil {
			return nil, err
		}
		if err := srv.RegisterName("nftest", &gethPush{}); err != nil {
			return nil, err
		}
		t.closers = append(t.closers, srv.Stop)
		httpH, wsH = srv, srv.WebsocketHandler([]string{"*"})
		serveIPC = func(ln net.Listener) { srv.ServeListener(ln) }
	case "ceiling":
		c := newFanoutCeiling()
		t.closers = append(t.closers, c.closeAll)
		wsH = c
	default:
		return nil, fmt.Errorf("unknown server kind %q", kind)
	}
	var err error
	if httpH != nil {
		t.PushHTTP, err = t.listenHTTP(httpH)
	}
	if err == nil {
		t.PushWS, err = t.listenHTTP(wsH)
	}
	if err == nil && (polySrv != nil || serveIPC != nil) {
		t.PushIPC, err = t.listenIPC(polySrv, serveIPC)
	}
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// pushTarget is t's push servers as a netTarget for dialRaw.
func pushTarget(t *netTarget) *netTarget {
	return &netTarget{Kind: t.Kind, HTTP: t.PushHTTP, WS: t.PushWS, IPC: t.PushIPC}
}
