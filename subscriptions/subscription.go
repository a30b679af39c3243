package subscriptions

import (
	"context"
	"strconv"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// Policy says what happens to a subscription's notification that does not fit in its
// connection's full queue. See the package documentation.
type Policy uint8

const (
	// CloseConn closes the connection: go-ethereum's behaviour, and the default. Before the
	// subscribe call's answer has been written, it drops the notification as DropNewest does.
	CloseConn Policy = iota
	// DropOldest drops the subscription's oldest queued notification to make room, and sends a
	// lag notice.
	DropOldest
	// DropNewest drops the notification being sent, and sends a lag notice.
	DropNewest
)

// String returns the policy's name.
func (p Policy) String() string {
	switch p {
	case CloseConn:
		return "close"
	case DropOldest:
		return "drop-oldest"
	case DropNewest:
		return "drop-newest"
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}

// Option adjusts one subscription; see [Notifier.CreateSubscription].
type Option func(*Subscription)

// WithPolicy sets the subscription's overflow policy, overriding the connection's default.
func WithPolicy(p Policy) Option { return func(s *Subscription) { s.policy = p } }

// Subscription states, guarded by the connection's mutex.
const (
	pending = iota // created; its subscribe answer is not written yet
	active         // announced: its notifications are delivered
	ended
)

// Subscription is one client subscription on one connection.
type Subscription struct {
	// ID is the subscription's id on the wire.
	ID ID

	conn   *Conn
	policy Policy
	head   []byte // the notification up to the result (wire.AppendNotificationHead)
	lagged string // the lag notice's method name: NS_subscriptionLag

	// Guarded by conn.mu.
	state   uint8
	q       []entry // queued notifications, oldest first from q[qhead]
	qhead   int
	lost    uint64 // dropped after the last queued entry, not reported yet
	inReady bool   // in conn.ready
	onEnd   []func()
	reason  error
	err     chan error
}

// entry is one queued notification: its encoded result, and how many of the subscription's
// notifications were dropped just before it.
type entry struct {
	data []byte
	lost uint64
}

// size is what an entry counts against the connection's byte limit: the whole message.
func (s *Subscription) size(data []byte) int { return len(s.head) + len(data) + len("}}\n") }

func newSubscription(c *Conn, namespace string, opts []Option) *Subscription {
	s := &Subscription{ID: NewID(), conn: c, policy: c.lim.policy, err: make(chan error, 1)}
	for _, o := range opts {
		o(s)
	}
	s.head = wire.AppendNotificationHead(nil, namespace+"_subscription", string(s.ID))
	s.lagged = namespace + "_subscriptionLag"
	return s
}

// endLocked marks a subscription that never queued anything as ended (conn.mu held).
func (s *Subscription) endLocked(reason error) {
	s.state, s.reason = ended, reason
	s.err <- reason
	close(s.err)
}

// Err returns a channel that receives the reason the subscription ended (ErrUnsubscribed,
// ErrConnClosed, ErrServerStopped, ErrOverflow, …) and is then closed. Producers select on it
// to know when to stop.
func (s *Subscription) Err() <-chan error { return s.err }

// Notify sends v to the subscriber, encoded byte for byte as a call's result would be
// (encoding/json's encoding without HTML escaping). It never blocks: when the connection's
// queue is full the subscription's policy applies. It fails if v cannot be encoded, or with
// the subscription's end reason once it has ended. Notifications sent before the subscribe
// answer is written are held and delivered after it.
func (s *Subscription) Notify(v any) error {
	data, err := wire.AppendJSON(nil, v)
	if err != nil {
		return err
	}
	return s.conn.enqueue(s, data)
}

// NotifyWait is Notify for a producer that would rather wait than lose a notification: when the
// queue is full it waits for room (whatever the policy) until ctx is done or the subscription
// ends. Use it from a goroutine that serves this one subscription, never from a fan-out.
func (s *Subscription) NotifyWait(ctx context.Context, v any) error {
	data, err := wire.AppendJSON(nil, v)
	if err != nil {
		return err
	}
	return s.conn.enqueueWait(ctx, s, data)
}

// Unsubscribe ends the subscription from the server side, as if the client had unsubscribed.
func (s *Subscription) Unsubscribe() { s.conn.end(s, ErrUnsubscribed) }

// push appends a notification to the subscription's queue (conn.mu held).
func (s *Subscription) push(data []byte) {
	s.q = append(s.q, entry{data: data, lost: s.lost})
	s.lost = 0
}

// pop removes the oldest queued notification (conn.mu held).
func (s *Subscription) pop() entry {
	e := s.q[s.qhead]
	s.q[s.qhead] = entry{}
	s.qhead++
	switch {
	case s.qhead == len(s.q):
		s.q, s.qhead = s.q[:0], 0
	case s.qhead >= 64 && s.qhead*2 >= len(s.q):
		n := copy(s.q, s.q[s.qhead:])
		clear(s.q[n:])
		s.q, s.qhead = s.q[:n], 0
	}
	return e
}

// queued is the number of notifications in the subscription's queue (conn.mu held).
func (s *Subscription) queued() int { return len(s.q) - s.qhead }

// dropOldest drops the oldest queued notification, carrying its lost count over (conn.mu held).
func (s *Subscription) dropOldest() entry {
	e := s.pop()
	if s.queued() > 0 {
		s.q[s.qhead].lost += e.lost + 1
	} else {
		s.lost += e.lost + 1
	}
	return e
}

// appendLagNotice appends the lag notice for n dropped notifications, with its newline.
func (s *Subscription) appendLagNotice(buf []byte, n uint64) []byte {
	return append(wire.AppendLagNotice(buf, s.lagged, string(s.ID), n), '\n')
}
