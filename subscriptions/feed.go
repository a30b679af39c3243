package subscriptions

import (
	"context"
	"sync"
	"sync/atomic"
)

// DefaultMaxReplay is the default of [Feed].MaxReplay.
const DefaultMaxReplay = 1000

// Feed fans the events of topics (chat rooms, a block stream) out to subscriptions. A publish
// encodes the value once and hands it to the Feed's [Broker], which stores it in the topic's
// history and delivers it back to the Feed of every node with subscribers of the topic; each
// Feed queues it on its subscribers' connections without blocking, and each connection's own
// policy handles a subscriber that does not keep up.
//
// Every subscriber of a topic receives its events in one order, the broker's (the order of
// their offsets), however many goroutines or nodes publish at once. Each notification carries
// the event's offset next to its result, and a position notice tells the subscriber where its
// stream starts and when it breaks, so that a client can resume ([Feed.SubscribeFrom]); see
// the package documentation for the wire.
//
// The zero Feed is ready to use, on a [MemoryBroker] of its own. It is safe for concurrent
// use; set its fields before using it.
type Feed struct {
	// Broker carries the events; nil for a MemoryBroker with the default Retention. The Feed
	// starts it at first use and never closes it. One broker serves one Feed.
	Broker Broker

	// Stamp, if set, rewrites an event's encoded value as this node delivers it, given the
	// event's offset: so that a value can carry its own offset (a chat message's id), which a
	// broker assigns only once the value has been encoded. It runs once per event and node
	// (and for each event replayed to a resuming subscriber), in delivery order; it must not
	// block, and returns data unchanged or a new slice.
	Stamp func(data []byte, offset uint64) []byte

	// MaxReplay is the most events replayed to one resuming subscriber; one further behind is
	// not recovered. Zero means DefaultMaxReplay.
	MaxReplay int

	once     sync.Once
	broker   Broker
	startErr error
	status   atomic.Pointer[error] // the broker's last Status

	mu     sync.RWMutex
	topics map[string]*topic // topics with subscribers, or joins in progress
}

// start starts the Feed's broker on first use and returns it.
func (f *Feed) start() (Broker, error) {
	f.once.Do(func() {
		f.broker = f.Broker
		if f.broker == nil {
			f.broker = NewMemoryBroker(Retention{})
		}
		f.startErr = f.broker.Start(feedHandler{f})
	})
	return f.broker, f.startErr
}

// feedHandler is the Handler through which a Feed's broker delivers.
type feedHandler struct{ f *Feed }

func (h feedHandler) Deliver(ev Event) { h.f.deliver(ev) }
func (h feedHandler) Status(err error) { h.f.status.Store(&err) }

// Err returns nil while the Feed's broker is reachable, as it last reported, and otherwise why
// not (a server's readiness check reads it).
func (f *Feed) Err() error {
	if _, err := f.start(); err != nil {
		return err
	}
	if p := f.status.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *Feed) maxReplay() int {
	if f.MaxReplay > 0 {
		return f.MaxReplay
	}
	return DefaultMaxReplay
}

// Subscribe adds s to topic from now on; it is SubscribeFrom without a position. s leaves the
// topic by itself when it ends. It fails with s's end reason if s has already ended, or with
// the broker's error.
func (f *Feed) Subscribe(topic string, s *Subscription) error {
	return f.SubscribeFrom(context.Background(), topic, s, nil)
}

// SubscribeFrom adds s to topic and resumes after since: s receives every event of topic after
// since.Offset, in order, then the live ones, without a gap or a duplicate, after a position
// notice with recovered true. When since is of another epoch, or the topic's history no longer
// reaches back to it (or holds more than MaxReplay events after it), the notice says recovered
// false and s receives only the events published from now on. With since nil, s starts with
// the events published from now on (recovered true). s leaves the topic by itself when it ends.
//
// A subscription that resumes should follow one topic: positions are a topic's. SubscribeFrom
// fails with s's end reason if s has already ended, or with the broker's error.
func (f *Feed) SubscribeFrom(ctx context.Context, topic string, s *Subscription, since *Position) error {
	b, err := f.start()
	if err != nil {
		return err
	}
	t := f.acquire(topic)
	m := &member{s: s, buffering: true}
	if err := f.join(b, t, m); err != nil {
		f.release(t)
		return err
	}
	limit := 0
	if since != nil {
		limit = f.maxReplay() + 1 // one more tells that there were too many
	}
	evs, top, err := b.History(ctx, topic, since, limit)
	t.mu.Lock()
	switch {
	case m.gone: // s ended meanwhile
		t.mu.Unlock()
		return nil
	case err != nil:
		t.mu.Unlock()
		f.leave(b, t, m)
		return err
	}
	m.catchUp(since, evs, top, f.maxReplay(), f.Stamp)
	t.mu.Unlock()
	return nil
}

// Publish sends v to every subscription of topic and returns how many of this node's
// subscriptions accepted it (queued, or dropped with a lag notice under a drop policy). The
// count is exact when the broker delivers during the call, as MemoryBroker does; a broker that
// delivers later (over the network) is counted as this node's subscriptions of the topic, and
// other nodes' subscribers are never counted. Publish fails if v cannot be encoded or the
// broker refuses it.
func (f *Feed) Publish(topic string, v any) (int, error) {
	pos, err := f.Send(context.Background(), topic, v)
	if err != nil {
		return 0, err
	}
	return f.reached(topic, pos.Offset), nil
}

// Send publishes v to topic, as Publish does, and returns the event's position.
func (f *Feed) Send(ctx context.Context, topic string, v any) (Position, error) {
	b, err := f.start()
	if err != nil {
		return Position{}, err
	}
	data, err := encode(v)
	if err != nil {
		return Position{}, err
	}
	return b.Publish(ctx, topic, data)
}

// History returns events of topic from the broker, oldest first, and its top: see
// [Broker].History. Values are as published, without Stamp.
func (f *Feed) History(ctx context.Context, topic string, since *Position, limit int) ([]Event, Position, error) {
	b, err := f.start()
	if err != nil {
		return nil, Position{}, err
	}
	return b.History(ctx, topic, since, limit)
}

// Topics lists the broker's topics that have events, or fails with ErrNoTopicList if the
// broker is no [TopicLister].
func (f *Feed) Topics(ctx context.Context) ([]TopicInfo, error) {
	b, err := f.start()
	if err != nil {
		return nil, err
	}
	l, ok := b.(TopicLister)
	if !ok {
		return nil, ErrNoTopicList
	}
	return l.Topics(ctx)
}

// Len returns the number of this node's subscriptions of topic.
func (f *Feed) Len(topic string) int {
	f.mu.RLock()
	t := f.topics[topic]
	f.mu.RUnlock()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.members)
}
