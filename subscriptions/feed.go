package subscriptions

import (
	"sync"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// Feed fans events out to the subscriptions of each topic (a chat room, a block stream). A
// publish encodes the value once and queues it on every subscriber's connection without
// blocking and without starting a goroutine; each connection's own policy handles a subscriber
// that does not keep up. The zero Feed is ready to use; it is safe for concurrent use.
type Feed struct {
	mu     sync.RWMutex
	topics map[string][]*Subscription // replaced, never modified: publishers read without copying
}

// Subscribe adds s to topic. s leaves the topic by itself when it ends. It reports false if s
// has already ended.
func (f *Feed) Subscribe(topic string, s *Subscription) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Registered under f.mu, so that the removal cannot run before the addition.
	if !s.conn.onEnd(s, func() { f.remove(topic, s) }) {
		return false
	}
	if f.topics == nil {
		f.topics = make(map[string][]*Subscription)
	}
	old := f.topics[topic]
	subs := make([]*Subscription, len(old), len(old)+1)
	copy(subs, old)
	f.topics[topic] = append(subs, s)
	return true
}

func (f *Feed) remove(topic string, s *Subscription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.topics[topic]
	subs := make([]*Subscription, 0, len(old))
	for _, o := range old {
		if o != s {
			subs = append(subs, o)
		}
	}
	if len(subs) == 0 {
		delete(f.topics, topic)
	} else {
		f.topics[topic] = subs
	}
}

// Publish sends v to every subscription of topic and returns how many accepted it (queued, or
// dropped with a lag notice under a drop policy). It fails only if v cannot be encoded.
func (f *Feed) Publish(topic string, v any) (int, error) {
	f.mu.RLock()
	subs := f.topics[topic]
	f.mu.RUnlock()
	if len(subs) == 0 {
		return 0, nil
	}
	data, err := wire.AppendJSON(nil, v)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range subs {
		if s.conn.enqueue(s, data) == nil {
			n++
		}
	}
	return n, nil
}

// Len returns the number of subscriptions of topic.
func (f *Feed) Len(topic string) int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.topics[topic])
}
