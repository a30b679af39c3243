package subscriptions

import "context"

// Notifier is handed to a subscription method through its context: it creates the call's
// subscription and sends notifications on the calling connection.
type Notifier struct {
	conn      *Conn
	namespace string
	tag       any // see Conn.BeginTagged

	// Guarded by conn.mu.
	sub      *Subscription
	returned bool // the subscribe call has returned
}

type notifierKey struct{}

// NewContext returns ctx carrying n; package rpc calls it for each subscribe call.
func NewContext(ctx context.Context, n *Notifier) context.Context {
	return context.WithValue(ctx, notifierKey{}, n)
}

// NotifierFromContext returns the notifier of the subscribe call whose context is ctx. It
// reports false when the connection cannot carry server push (HTTP) or ctx is not a subscribe
// call's; the method should then return ErrNotificationsUnsupported.
func NotifierFromContext(ctx context.Context) (*Notifier, bool) {
	n, ok := ctx.Value(notifierKey{}).(*Notifier)
	return n, ok
}

// CreateSubscription creates the call's subscription; the method returns it. Its
// notifications are held until the subscribe answer has been written. One call creates one
// subscription: a second one, or one created after the method returned, has already ended with
// ErrLateSubscription.
func (n *Notifier) CreateSubscription(opts ...Option) *Subscription {
	s := newSubscription(n.conn, n.namespace, opts)
	s.tag = n.tag
	c := n.conn
	c.mu.Lock()
	switch {
	case n.sub != nil || n.returned:
		s.endLocked(ErrLateSubscription)
	case c.reason != nil:
		n.sub = s
		c.reserved-- // the subscription takes its call's reservation
		s.endLocked(c.reason)
	default:
		n.sub = s
		c.reserved--
		c.subs[s.ID] = s
		c.mu.Unlock()
		if c.obs != nil {
			c.obs.Started(s.tag)
		}
		return s
	}
	c.mu.Unlock()
	return s
}

// Owns reports whether s is the subscription this call created: the only one a subscribe
// method may return.
func (n *Notifier) Owns(s *Subscription) bool {
	n.conn.mu.Lock()
	defer n.conn.mu.Unlock()
	return s != nil && n.sub == s
}

// Notify sends v to the connection's subscription id; see [Subscription.Notify]. It fails with
// ErrSubscriptionNotFound if the connection has no live subscription id.
func (n *Notifier) Notify(id ID, v any) error {
	c := n.conn
	c.mu.Lock()
	s := c.subs[id]
	c.mu.Unlock()
	if s == nil {
		return ErrSubscriptionNotFound
	}
	data, err := encode(v)
	if err != nil {
		return err
	}
	return c.enqueue(s, entry{data: data})
}
