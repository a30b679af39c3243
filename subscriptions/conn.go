package subscriptions

import (
	"context"
	"sync"
)

// Sink is the connection a [Conn] writes to; package rpc implements it for each session.
type Sink interface {
	// Send writes msgs in order, each one complete JSON message ending in '\n', and returns once
	// they are written (or the connection failed). One goroutine at a time calls it; msgs is
	// only valid during the call.
	Send(msgs [][]byte) error
	// Close closes the connection because of reason (ErrOverflow). It must not block: it is
	// called on a publisher's goroutine.
	Close(reason error)
}

// Conn holds one connection's subscriptions and the bounded queue of their notifications.
// Package rpc creates one per connection that can carry server push; services never see it.
type Conn struct {
	sink Sink
	obs  Observer // sink, when it is one
	lim  limits

	mu       sync.Mutex
	subs     map[ID]*Subscription // pending and active
	reserved int                  // subscribe calls in progress that have not created theirs
	ready    []*Subscription      // active subscriptions with something to write, in turn
	queued   int                  // notifications queued or being written
	bytes    int                  // their size
	draining bool                 // the drain goroutine runs
	space    chan struct{}        // closed when room frees up; nil when nobody waits
	reason   error                // why the connection ended; nil while open
	drained  sync.WaitGroup       // the drain goroutine
}

// NewConn returns the subscription state of a connection that writes to sink.
func NewConn(sink Sink, l Limits) *Conn {
	obs, _ := sink.(Observer)
	return &Conn{sink: sink, obs: obs, lim: l.resolve(), subs: make(map[ID]*Subscription)}
}

// Len returns the connection's live subscriptions.
func (c *Conn) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

// Begin prepares one subscribe call: it reserves a subscription within the limit and returns the
// notifier to put in the call's context with [NewContext]. It fails with
// ErrTooManySubscriptions at the limit, or with the connection's end reason. Every successful
// Begin must be followed by [Conn.Finish].
func (c *Conn) Begin(namespace string) (*Notifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != nil {
		return nil, c.reason
	}
	if len(c.subs)+c.reserved >= c.lim.maxSubs {
		return nil, ErrTooManySubscriptions
	}
	c.reserved++
	return &Notifier{conn: c, namespace: namespace}, nil
}

// Finish ends a subscribe call. answered reports that the call's answer, the id of the
// subscription it created, has been written to the client: delivery starts. Otherwise (the call
// failed, timed out, or was a notification) the subscription it created, if any, ends with
// ErrUnsubscribed.
func (c *Conn) Finish(n *Notifier, answered bool) {
	c.mu.Lock()
	if n.sub == nil {
		c.reserved-- // no subscription took the reservation's place
	}
	n.returned = true
	s := n.sub
	if s == nil || s.state != pending {
		c.mu.Unlock()
		return
	}
	if !answered {
		c.mu.Unlock()
		c.end(s, ErrUnsubscribed)
		return
	}
	s.state = active
	if s.queued() > 0 || s.lost > 0 || s.pos != nil {
		c.markReadyLocked(s)
	}
	c.mu.Unlock()
}

// Unsubscribe ends the connection's subscription id; it reports false if there is none.
func (c *Conn) Unsubscribe(id ID) bool {
	c.mu.Lock()
	s := c.subs[id]
	c.mu.Unlock()
	if s == nil {
		return false
	}
	return c.end(s, ErrUnsubscribed)
}

// Close ends every subscription with reason (ErrConnClosed or ErrServerStopped), frees the
// queue, and waits until the drain goroutine has returned. Close the sink first, so that a
// write in progress fails rather than waits. Close is idempotent.
func (c *Conn) Close(reason error) {
	c.mu.Lock()
	if c.reason == nil {
		c.reason = reason
	}
	reason = c.reason // ErrOverflow, when that is why the connection is closing
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		c.end(s, reason)
	}
	c.drained.Wait()
}

// end ends s with reason and frees its queue; it reports false if s had already ended. The
// subscription's end hooks (a Feed removing it) run on this goroutine, after the lock.
func (c *Conn) end(s *Subscription, reason error) bool {
	c.mu.Lock()
	if s.state == ended {
		c.mu.Unlock()
		return false
	}
	s.state, s.reason = ended, reason
	delete(c.subs, s.ID)
	for s.queued() > 0 {
		e := s.pop()
		c.queued--
		c.bytes -= s.size(&e)
	}
	s.q, s.lost, s.lostFrom, s.pos = nil, 0, 0, nil
	c.wakeLocked()
	hooks := s.onEnd
	s.onEnd = nil
	s.err <- reason
	close(s.err)
	c.mu.Unlock()
	for _, f := range hooks {
		f()
	}
	if c.obs != nil {
		c.obs.Ended(s.tag)
	}
	return true
}

// onEnd registers f to run when s ends; if s has ended it returns why, without registering.
func (c *Conn) onEnd(s *Subscription, f func()) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.state == ended {
		return s.reason
	}
	s.onEnd = append(s.onEnd, f)
	return nil
}

// fits reports whether one more notification of size bytes fits in the queue (c.mu held).
func (c *Conn) fits(size int) bool {
	return c.queued < c.lim.maxQueued && c.bytes+size <= c.lim.maxBytes
}

// enqueue queues one notification of s, applying its policy when the queue is full. Its data
// must not change afterwards (a Feed shares it between subscriptions). An entry carrying only
// notices that does not fit waits after the last queued entry, whatever the policy.
func (c *Conn) enqueue(s *Subscription, e entry) error {
	size := s.size(&e)
	c.mu.Lock()
	if err := c.refusedLocked(s); err != nil {
		c.mu.Unlock()
		return err
	}
	for !c.fits(size) {
		if s.policy == DropOldest && s.queued() > 0 && e.data != nil {
			old := s.dropOldest()
			c.queued--
			c.bytes -= s.size(&old)
			continue
		}
		if s.policy == CloseConn && s.state == active && e.data != nil {
			// (A pending subscription's client has not been told its id yet, let alone had
			// a chance to read: it is not the client's fault, so drop as DropNewest.)
			c.mu.Unlock()
			c.overflow()
			return ErrOverflow
		}
		s.dropNewest(e) // DropNewest, or DropOldest with nothing of its own to drop
		if s.state == active {
			c.markReadyLocked(s)
		}
		c.mu.Unlock()
		return nil
	}
	c.pushLocked(s, e, size)
	c.mu.Unlock()
	return nil
}

// refusedLocked returns why s takes no more notifications, or nil.
func (c *Conn) refusedLocked(s *Subscription) error {
	switch {
	case s.state == ended:
		return s.reason
	case c.reason != nil:
		return c.reason
	}
	return nil
}

// pushLocked queues e for s, which has room.
func (c *Conn) pushLocked(s *Subscription, e entry, size int) {
	s.push(e)
	c.queued++
	c.bytes += size
	if s.state == active {
		c.markReadyLocked(s)
	}
}

// enqueueWait queues one notification of s, waiting for room rather than applying the policy.
func (c *Conn) enqueueWait(ctx context.Context, s *Subscription, e entry) error {
	size := s.size(&e)
	for {
		c.mu.Lock()
		if err := c.refusedLocked(s); err != nil {
			c.mu.Unlock()
			return err
		}
		if c.fits(size) || c.queued == 0 {
			c.pushLocked(s, e, size) // under the same lock: no other producer takes the room
			c.mu.Unlock()
			return nil
		}
		if c.space == nil {
			c.space = make(chan struct{})
		}
		space := c.space
		c.mu.Unlock()
		select {
		case <-space:
		case <-s.err:
			return s.reason
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wakeLocked wakes producers waiting for room (c.mu held).
func (c *Conn) wakeLocked() {
	if c.space != nil {
		close(c.space)
		c.space = nil
	}
}

// overflow applies CloseConn: every subscription ends with ErrOverflow and the sink is asked to
// close the connection.
func (c *Conn) overflow() {
	c.mu.Lock()
	first := c.reason == nil
	if first {
		c.reason = ErrOverflow
	}
	c.mu.Unlock()
	if first {
		c.sink.Close(ErrOverflow)
	}
}

// markReadyLocked puts s in the drain rotation and makes sure the drain goroutine runs.
func (c *Conn) markReadyLocked(s *Subscription) {
	if !s.inReady {
		s.inReady = true
		c.ready = append(c.ready, s)
	}
	if !c.draining && c.reason == nil {
		c.draining = true
		c.drained.Add(1)
		go c.drain()
	}
}
