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
	ns     string // the namespace: the notices' methods are NS_subscriptionLag and NS_subscriptionPosition
	tag    any    // the subscribe call's tag (Conn.BeginTagged), for the sink's Observer

	// Guarded by conn.mu.
	state    uint8
	q        []entry // queued notifications, oldest first from q[qhead]
	qhead    int
	lost     uint64    // dropped after the last queued entry, not reported yet
	lostFrom uint64    // the offset of the first of them (0: none known)
	pos      *position // a position notice after the last queued entry, not written yet
	inReady  bool      // in conn.ready
	onEnd    []func()
	reason   error
	err      chan error
}

// entry is one queued notification (its encoded result and, from a Feed, its offset) with the
// notices to write before it: a position notice, and a lag notice for the subscription's
// notifications dropped just before it. An entry without data carries only notices.
type entry struct {
	data     []byte
	off      uint64    // written as "offset" next to the result; 0: none
	pos      *position // a position notice before it
	lost     uint64    // notifications dropped just before it
	lostFrom uint64    // the offset of the first of them (0: none known)
}

// Sizes counted for what the entry size does not measure exactly.
const (
	offsetBytes = len(`,"offset":`) + 16 // an offset below 2^53 has at most 16 digits
	noticeBytes = 192                    // an entry with nothing but notices
)

// size is what an entry counts against the connection's byte limit: the whole message. It
// depends only on the entry's data and offset, which never change while it is queued.
func (s *Subscription) size(e *entry) int {
	if e.data == nil {
		return noticeBytes
	}
	n := len(s.head) + len(e.data) + len("}}\n")
	if e.off != 0 {
		n += offsetBytes
	}
	return n
}

func newSubscription(c *Conn, namespace string, opts []Option) *Subscription {
	s := &Subscription{ID: NewID(), conn: c, policy: c.lim.policy, err: make(chan error, 1)}
	for _, o := range opts {
		o(s)
	}
	s.head = wire.AppendNotificationHead(nil, namespace+"_subscription", string(s.ID))
	s.ns = namespace
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

// Notify sends v (encoded with encoding/json) to the subscriber. It never blocks: when the
// connection's queue is full the subscription's policy applies. It fails if v cannot be
// encoded, or with the subscription's end reason once it has ended. Notifications sent before
// the subscribe answer is written are held and delivered after it.
func (s *Subscription) Notify(v any) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	return s.conn.enqueue(s, entry{data: data})
}

// NotifyWait is Notify for a producer that would rather wait than lose a notification: it
// waits (whatever the policy) until ctx is done or the subscription ends, while the
// connection's queue holds two bursts of the drain goroutine (512 notifications or 512 KiB,
// or less under smaller limits: it is full), which keeps the connection busy without filling
// its queue, and while the server-wide [Budget] is spent. Use it from a goroutine that serves
// this one subscription, never from a fan-out.
func (s *Subscription) NotifyWait(ctx context.Context, v any) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	return s.conn.enqueueWait(ctx, s, entry{data: data})
}

// Unsubscribe ends the subscription from the server side, as if the client had unsubscribed.
func (s *Subscription) Unsubscribe() { s.conn.end(s, ErrUnsubscribed) }

// push appends e to the subscription's queue with the notices waiting after the last entry
// (conn.mu held).
func (s *Subscription) push(e entry) {
	e.pos = mergePositions(s.pos, e.pos)
	e.lost, e.lostFrom = s.lost, s.lostFrom
	s.q = append(s.q, e)
	s.lost, s.lostFrom, s.pos = 0, 0, nil
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

// dropOldest drops the oldest queued entry, carrying its notices over to the next one (conn.mu
// held): its position notice, and its lag count plus the notification itself.
func (s *Subscription) dropOldest() entry {
	e := s.pop()
	lost, from := e.lost, e.lostFrom
	if e.data != nil {
		if lost == 0 {
			from = e.off
		}
		lost++
	}
	if s.queued() > 0 {
		next := &s.q[s.qhead]
		next.pos = mergePositions(e.pos, next.pos)
		next.lost, next.lostFrom = addLost(lost, from, next.lost, next.lostFrom)
	} else {
		s.pos = mergePositions(e.pos, s.pos)
		s.lost, s.lostFrom = addLost(lost, from, s.lost, s.lostFrom)
	}
	return e
}

// dropNewest records e, which does not fit, as dropped after the last queued entry, keeping
// its position notice (conn.mu held).
func (s *Subscription) dropNewest(e entry) {
	s.pos = mergePositions(s.pos, e.pos)
	if e.data != nil {
		s.lost, s.lostFrom = addLost(s.lost, s.lostFrom, 1, e.off)
	}
}

// addLost adds b dropped notifications (the first at offset bFrom) to the a before them.
func addLost(a, aFrom, b, bFrom uint64) (uint64, uint64) {
	if a == 0 {
		return b, bFrom
	}
	return a + b, aFrom
}

// appendLagNotice appends the lag notice for n dropped notifications, the first at offset
// from (0: not known).
func (s *Subscription) appendLagNotice(buf []byte, n, from uint64) []byte {
	buf = wire.AppendLagNotice(buf, s.ns+"_subscriptionLag", string(s.ID), n, from)
	return append(buf, '\n')
}

// appendNotification appends the notification of e's data.
func (s *Subscription) appendNotification(buf []byte, e *entry) []byte {
	buf = append(buf, s.head...)
	buf = append(buf, e.data...)
	buf = wire.AppendNotificationEnd(buf, e.off)
	return append(buf, '\n')
}
