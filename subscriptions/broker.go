package subscriptions

import (
	"context"
	"errors"
	"time"
)

// MaxOffset is the largest offset a broker may assign: 2^53, the largest integer that
// JavaScript clients read exactly.
const MaxOffset = 1 << 53

// Position is a place in a topic's history: an offset within an epoch. A subscriber that
// received every event up to a position can resume from it ([Feed.SubscribeFrom]).
type Position struct {
	// Epoch names one continuous history of the topic. It changes when that history is lost
	// (a memory broker restarted, a stream deleted): offsets of another epoch mean nothing.
	Epoch string `json:"epoch"`
	// Offset is the offset of the last event the position includes (0 when none).
	Offset uint64 `json:"offset"`
}

// Event is one value published to a topic, as a [Broker] stores and delivers it.
type Event struct {
	Topic string
	// Offset is the event's place in the topic: at least 1 and at most MaxOffset, larger than
	// every earlier event's of the topic. Offsets need not be contiguous (JetStream's
	// sequences are stream-wide).
	Offset uint64
	// Prev is the position this event follows: the offset of the topic's previous event, or,
	// for its first event, the topic's starting offset (what History reported as the top of the
	// empty topic). A subscriber positioned anywhere from Prev up to Offset-1 missed nothing
	// before this event; one positioned before Prev may have.
	Prev  uint64
	Epoch string
	// Data is the encoded value (JSON). Nobody modifies it once it is published.
	Data []byte
}

// Broker stores the events of topics and delivers them to every node that subscribed to the
// topic: the seam under [Feed]. [MemoryBroker] is the default; adapters for NATS JetStream or
// Redis live in modules of their own and pass the brokertest conformance suite.
//
// The contract:
//
//   - Start is called once, before any other method, with the Handler that receives the
//     deliveries. A broker that cannot reach its server reports it with Handler.Status and
//     keeps trying; Start fails only when the broker cannot work at all.
//   - Deliveries: the events of each subscribed topic reach Handler.Deliver in offset order,
//     one at a time per topic (topics may be delivered concurrently), on every node in the
//     same order. Deliver never blocks and never calls the broker, so a broker may deliver
//     while it holds a topic's lock. A broker that reconnects resumes delivery after the last
//     event it delivered when its history still holds what followed; otherwise the gap shows
//     in the next event's Prev.
//   - Methods never require the caller to block inside a delivery; they return an error
//     (rather than wait forever or pretend) when the broker is unreachable.
type Broker interface {
	// Start begins delivering to h.
	Start(h Handler) error

	// Publish appends data to topic's history and delivers it to the nodes subscribed to
	// topic, atomically per topic: of two events published to one topic, the one delivered
	// first has the smaller offset, everywhere. It returns the event's position. On error
	// nothing may be assumed published.
	Publish(ctx context.Context, topic string, data []byte) (Position, error)

	// Subscribe asks for topic's events: every event published after Subscribe returns is
	// delivered (some published just before may be too). A Feed calls it for a topic's first
	// local subscriber.
	Subscribe(topic string) error

	// Unsubscribe stops the deliveries of topic (a few in flight may still arrive). A Feed
	// calls it after a topic's last local subscriber left, on the goroutine that ended that
	// subscription: it should not wait long. Its error is ignored.
	Unsubscribe(topic string) error

	// History returns events of topic, oldest first, and the topic's top: its epoch and the
	// offset of its newest event (or its starting offset when it has none). With since nil,
	// the newest limit events; otherwise the first limit events after since.Offset, whatever
	// since.Epoch (the caller compares it with the top's). limit ≤ 0 asks for the top only.
	// Events forgotten by the broker's retention are missing: the first one returned then
	// has a Prev beyond since.Offset.
	History(ctx context.Context, topic string, since *Position, limit int) ([]Event, Position, error)
}

// Handler receives what a [Broker] delivers. A Feed is the handler of its broker.
type Handler interface {
	// Deliver receives one event of a subscribed topic; see the Broker contract.
	Deliver(ev Event)
	// Status reports that the broker became unreachable (err, which says why) or reachable
	// again (nil).
	Status(err error)
}

// TopicLister is implemented by a broker that can list its topics (chat_rooms).
type TopicLister interface {
	// Topics returns the topics that have events, sorted by name.
	Topics(ctx context.Context) ([]TopicInfo, error)
}

// TopicInfo describes one topic of a broker.
type TopicInfo struct {
	Topic  string
	Events int       // events kept
	Top    Position  // the newest event's position
	Last   time.Time // when the newest event was published
}

// ErrNoTopicList is what [Feed.Topics] returns when its broker is no [TopicLister].
var ErrNoTopicList = errors.New("subscriptions: the broker cannot list its topics")
