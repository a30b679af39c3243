package subscriptions

// Observer may be implemented by a [Sink] that wants to know what becomes of its connection's
// subscriptions and notifications (package rpc's hooks, for metrics). Each subscription is
// identified by the tag given to [Conn.BeginTagged] for its subscribe call (nil after Begin).
// The methods are called without the connection's lock held, from the goroutines that cause
// the events (a subscribe call, Unsubscribe or Close, the drain goroutine); they must not
// block.
type Observer interface {
	// Started: a subscribe call created its subscription.
	Started(tag any)
	// Ended: a subscription that Started reported has ended.
	Ended(tag any)
	// Sent: n notifications of the subscription were written (notices not counted).
	Sent(tag any, n int)
	// Dropped: a lag notice reporting n notifications dropped under policy p was written.
	Dropped(tag any, p Policy, n int)
}

// BeginTagged is [Conn.Begin] with a tag that names the subscription to the sink's
// [Observer].
func (c *Conn) BeginTagged(namespace string, tag any) (*Notifier, error) {
	n, err := c.Begin(namespace)
	if n != nil {
		n.tag = tag
	}
	return n, err
}

// observe reports a burst that was written to the observer: its notifications and its lag
// notices, counted per run of the same subscription.
func (c *Conn) observe(burst []taken) {
	var s *Subscription
	sent := 0
	for i := range burst {
		t := &burst[i]
		if t.s != s {
			if sent > 0 {
				c.obs.Sent(s.tag, sent)
			}
			s, sent = t.s, 0
		}
		if t.lost > 0 {
			c.obs.Dropped(s.tag, s.policy, int(t.lost))
		}
		if t.data != nil {
			sent++
		}
	}
	if sent > 0 {
		c.obs.Sent(s.tag, sent)
	}
}
