package subscriptions

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Retention bounds what a [MemoryBroker] keeps. A zero field takes its default; a negative
// one removes that bound.
type Retention struct {
	// Events is how many of a topic's newest events are kept. Default 100.
	Events int
	// Topics is how many topics without a local subscriber are kept; past it, the one
	// published to least recently is forgotten with its history. Topics with a subscriber are
	// never forgotten and do not count. Default 1000.
	Topics int
	// Age forgets events older than Age. Default: no age limit.
	Age time.Duration
}

// Default retention of a MemoryBroker.
const (
	DefaultRetainedEvents = 100
	DefaultRetainedTopics = 1000
)

// MemoryBroker is the in-process [Broker], the default of a [Feed]: one node needs nothing
// else. Its epoch is random, drawn when it is created, so positions of an earlier process do
// not resume. Offsets come from one counter across topics (a topic's offsets increase but skip
// those of other topics), and a topic forgotten under [Retention] comes back with a starting
// offset past everything it had: a subscriber cannot resume across the loss.
type MemoryBroker struct {
	ret   Retention
	epoch string
	now   func() time.Time
	next  atomic.Uint64 // the last offset assigned

	h       Handler
	started atomic.Bool

	mu     sync.Mutex
	topics map[string]*memTopic
	idle   list.List // topics without a subscriber, least recently published first
	floor  uint64    // the counter when a topic was last forgotten: new topics start there
}

// memTopic is one topic of a MemoryBroker.
type memTopic struct {
	name string

	// Guarded by mu, which a publish holds while it delivers.
	mu    sync.Mutex
	ring  []memEvent // the kept events: n of them from ring[start], wrapping around
	start int
	n     int
	last  uint64 // the newest event's offset, or the starting offset
	gone  bool   // forgotten: a publish that finds it looks the topic up again

	// Guarded by MemoryBroker.mu (and mu as well, for subscribed, read by publishes).
	subscribed bool
	elem       *list.Element // in MemoryBroker.idle while not subscribed
}

type memEvent struct {
	ev Event
	at time.Time
}

// NewMemoryBroker returns a memory broker that keeps what r allows.
func NewMemoryBroker(r Retention) *MemoryBroker {
	var b [8]byte
	rand.Read(b[:])
	return &MemoryBroker{
		ret: Retention{
			Events: pick(r.Events, DefaultRetainedEvents),
			Topics: pick(r.Topics, DefaultRetainedTopics),
			Age:    r.Age,
		},
		epoch:  hex.EncodeToString(b[:]),
		now:    time.Now,
		topics: make(map[string]*memTopic),
	}
}

var errStarted = errors.New("subscriptions: broker started twice")

// Start implements [Broker].
func (b *MemoryBroker) Start(h Handler) error {
	if !b.started.CompareAndSwap(false, true) {
		return errStarted
	}
	b.mu.Lock()
	b.h = h
	b.mu.Unlock()
	return nil
}

// Publish implements [Broker]: it delivers on the caller's goroutine, under the topic's lock.
func (b *MemoryBroker) Publish(ctx context.Context, topic string, data []byte) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	for {
		t, h := b.lookup(topic, true, true)
		t.mu.Lock()
		if t.gone {
			t.mu.Unlock()
			continue
		}
		off := b.next.Add(1)
		if off > MaxOffset {
			t.mu.Unlock()
			return Position{}, errors.New("subscriptions: memory broker out of offsets")
		}
		now := b.now()
		ev := Event{Topic: t.name, Offset: off, Prev: t.last, Epoch: b.epoch, Data: data}
		t.push(ev, now, b.ret.Events)
		t.trim(now, b.ret.Age)
		if t.subscribed && h != nil {
			h.Deliver(ev)
		}
		t.mu.Unlock()
		return Position{Epoch: b.epoch, Offset: off}, nil
	}
}

// lookup returns the topic, creating it if create is set (nil otherwise), and the handler.
// touch moves it to the back of the idle list (a publish).
func (b *MemoryBroker) lookup(name string, create, touch bool) (*memTopic, Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[name]
	switch {
	case t == nil && !create:
	case t == nil:
		t = &memTopic{name: strings.Clone(name), last: b.floor}
		b.topics[t.name] = t
		t.elem = b.idle.PushBack(t)
		b.evictLocked()
	case touch && t.elem != nil:
		b.idle.MoveToBack(t.elem)
	}
	return t, b.h
}

// evictLocked forgets the least recently published idle topics beyond the retention.
func (b *MemoryBroker) evictLocked() {
	for b.ret.Topics != unlimited && b.idle.Len() > b.ret.Topics {
		t := b.idle.Remove(b.idle.Front()).(*memTopic)
		t.mu.Lock() // waits for a delivery in progress
		t.gone, t.elem = true, nil
		t.ring = nil
		t.mu.Unlock()
		delete(b.topics, t.name)
		b.floor = b.next.Load() // beyond every offset the topic had
	}
}

// Subscribe implements [Broker].
func (b *MemoryBroker) Subscribe(topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[topic]
	if t == nil {
		t = &memTopic{name: strings.Clone(topic), last: b.floor}
		b.topics[t.name] = t
	}
	t.mu.Lock()
	t.subscribed = true
	t.mu.Unlock()
	if t.elem != nil {
		b.idle.Remove(t.elem)
		t.elem = nil
	}
	return nil
}

// Unsubscribe implements [Broker].
func (b *MemoryBroker) Unsubscribe(topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[topic]
	if t == nil || !t.subscribed {
		return nil
	}
	t.mu.Lock()
	t.subscribed = false
	t.mu.Unlock()
	t.elem = b.idle.PushBack(t)
	b.evictLocked()
	return nil
}

// History implements [Broker].
func (b *MemoryBroker) History(ctx context.Context, topic string, since *Position, limit int) ([]Event, Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, Position{}, err
	}
	for {
		t, _ := b.lookup(topic, false, false)
		if t == nil {
			b.mu.Lock()
			floor := b.floor
			b.mu.Unlock()
			return nil, Position{Epoch: b.epoch, Offset: floor}, nil
		}
		t.mu.Lock()
		if t.gone {
			t.mu.Unlock()
			continue
		}
		t.trim(b.now(), b.ret.Age)
		top := Position{Epoch: b.epoch, Offset: t.last}
		from, to := 0, t.n
		if since == nil {
			from = max(0, t.n-max(limit, 0))
		} else {
			from = sort.Search(t.n, func(i int) bool { return t.at(i).ev.Offset > since.Offset })
			to = min(t.n, from+max(limit, 0))
		}
		var evs []Event
		if to > from {
			evs = make([]Event, 0, to-from)
			for i := from; i < to; i++ {
				evs = append(evs, t.at(i).ev)
			}
		}
		t.mu.Unlock()
		return evs, top, nil
	}
}

// Topics implements [TopicLister]: the topics that have events.
func (b *MemoryBroker) Topics(ctx context.Context) ([]TopicInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	all := make([]*memTopic, 0, len(b.topics))
	for _, t := range b.topics {
		all = append(all, t)
	}
	b.mu.Unlock()
	now := b.now()
	out := make([]TopicInfo, 0, len(all))
	for _, t := range all {
		t.mu.Lock()
		t.trim(now, b.ret.Age)
		if !t.gone && t.n > 0 {
			out = append(out, TopicInfo{Topic: t.name, Events: t.n, Top: Position{Epoch: b.epoch, Offset: t.last}, Last: t.at(t.n - 1).at})
		}
		t.mu.Unlock()
	}
	slices.SortFunc(out, func(x, y TopicInfo) int { return strings.Compare(x.Topic, y.Topic) })
	return out, nil
}

// at returns the i-th kept event, oldest first (t.mu held).
func (t *memTopic) at(i int) *memEvent { return &t.ring[(t.start+i)%len(t.ring)] }

// push appends ev, dropping the oldest event beyond keep (t.mu held).
func (t *memTopic) push(ev Event, now time.Time, keep int) {
	t.last = ev.Offset
	if t.n == len(t.ring) && t.n < keep {
		grown := make([]memEvent, min(max(2*t.n, 8), keep))
		for i := range t.n {
			grown[i] = *t.at(i)
		}
		t.ring, t.start = grown, 0
	}
	if t.n == len(t.ring) { // full at keep: overwrite the oldest
		t.ring[t.start] = memEvent{ev: ev, at: now}
		t.start = (t.start + 1) % len(t.ring)
		return
	}
	t.ring[(t.start+t.n)%len(t.ring)] = memEvent{ev: ev, at: now}
	t.n++
}

// trim drops the events older than age (t.mu held).
func (t *memTopic) trim(now time.Time, age time.Duration) {
	if age <= 0 {
		return
	}
	for t.n > 0 && now.Sub(t.at(0).at) > age {
		*t.at(0) = memEvent{}
		t.start = (t.start + 1) % len(t.ring)
		t.n--
	}
}
