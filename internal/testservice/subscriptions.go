package testservice

import (
	"context"
	"strings"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Subs is the reference subscription service, registered as "nftest" (go-ethereum's name for
// its notification test service). Its subscriptions:
//
//   - nftest_subscribe ["ticks", n, start]: n notifications start, start+1, …, sent without
//     ever losing one (they wait for room in the queue), then the subscription stays open;
//   - nftest_subscribe ["topic", name, since]: whatever nftest_publish(name, value) publishes,
//     resuming after the optional position since;
//   - nftest_subscribe ["flood", n, size, policy]: n notifications of size bytes ({"i":k,"pad":…})
//     sent as fast as Notify takes them, under policy "close", "drop-oldest" or "drop-newest".
type Subs struct {
	feed subscriptions.Feed
}

// Ticks streams n consecutive integers from start.
//
// Notifies: int
func (s *Subs) Ticks(ctx context.Context, n, start int) (*subscriptions.Subscription, error) {
	sub, err := create(ctx)
	if err != nil {
		return nil, err
	}
	go func() {
		for i := range n {
			if sub.NotifyWait(context.Background(), start+i) != nil {
				return // ended
			}
		}
	}()
	return sub, nil
}

// Topic subscribes to what Publish sends to name: any JSON value. With since, it resumes after
// that position.
func (s *Subs) Topic(ctx context.Context, name string, since *subscriptions.Position) (*subscriptions.Subscription, error) {
	sub, err := create(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.feed.SubscribeFrom(ctx, name, sub, since); err != nil {
		return nil, err
	}
	return sub, nil
}

// Publish sends value to the subscribers of topic and returns how many it reached.
func (s *Subs) Publish(topic string, value any) (int, error) {
	return s.feed.Publish(topic, value)
}

// Subscribers returns the number of subscriptions to topic.
func (s *Subs) Subscribers(topic string) int { return s.feed.Len(topic) }

// FloodItem is one notification of the flood subscription.
type FloodItem struct {
	I   int    `json:"i"`
	Pad string `json:"pad,omitempty"`
}

// Flood sends n notifications of about size bytes each as fast as Notify takes them, under
// policy "close" (the default), "drop-oldest" or "drop-newest".
//
// Notifies: FloodItem
func (s *Subs) Flood(ctx context.Context, n, size int, policy *string) (*subscriptions.Subscription, error) {
	p := subscriptions.CloseConn
	if policy != nil {
		switch *policy {
		case "drop-oldest":
			p = subscriptions.DropOldest
		case "drop-newest":
			p = subscriptions.DropNewest
		}
	}
	sub, err := create(ctx, subscriptions.WithPolicy(p))
	if err != nil {
		return nil, err
	}
	pad := strings.Repeat("x", max(size-16, 0))
	go func() {
		for i := range n {
			if sub.Notify(FloodItem{I: i, Pad: pad}) != nil {
				return
			}
		}
	}()
	return sub, nil
}

func create(ctx context.Context, opts ...subscriptions.Option) (*subscriptions.Subscription, error) {
	n, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	return n.CreateSubscription(opts...), nil
}
