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
	sink   Sink
	obs    Observer // sink, when it is one
	lim    limits
	budget *Budget // shared with other connections; nil: none

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
	turn     chan struct{}        // the drain goroutine's, see turns; made at its first wait
}

// NewConn returns the subscription state of a connection that writes to sink. Its queue is
// bounded by l and, when shared is not nil, charged to shared too.
func NewConn(sink Sink, l Limits, shared *Budget) *Conn {
	obs, _ := sink.(Observer)
	return &Conn{sink: sink, obs: obs, lim: l.resolve(), budget: shared, subs: make(map[ID]*Subscription)}
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
	n, freed := 0, 0
	for s.queued() > 0 {
		e := s.pop()
		n, freed = n+1, freed+s.size(&e)
	}
	c.unqueueLocked(n, freed)
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

// fits reports whether one more notification of size bytes fits in the queue's own limits
// (c.mu held).
func (c *Conn) fits(size int) bool {
	return c.queued < c.lim.maxQueued && c.bytes+size <= c.lim.maxBytes
}

// admit reports whether one more notification of size bytes fits in the queue and in the
// shared budget, taking its bytes from the budget when it does (c.mu held).
func (c *Conn) admit(size int) bool { return c.fits(size) && c.budget.take(size) }

// unqueueLocked takes n notifications of size bytes in all out of the queue, and their bytes
// out of the budget (c.mu held).
func (c *Conn) unqueueLocked(n, size int) {
	c.queued -= n
	c.bytes -= size
	c.budget.give(size)
}

// enqueue queues one notification of s, applying its policy when the queue, or the shared
// budget, is full. Its data must not change afterwards (a Feed shares it between
// subscriptions). An entry carrying only notices that does not fit waits after the last queued
// entry, whatever the policy.
func (c *Conn) enqueue(s *Subscription, e entry) error {
	size := s.size(&e)
	c.mu.Lock()
	if err := c.refusedLocked(s); err != nil {
		c.mu.Unlock()
		return err
	}
	for !c.admit(size) {
		// When the queue has room of its own, what is spent is the shared budget (not nil
		// then), which counts what the policy does.
		byBudget := c.fits(size)
		if s.policy == DropOldest && s.queued() > 0 && e.data != nil {
			old := s.dropOldest()
			c.unqueueLocked(1, s.size(&old))
			if byBudget {
				c.budget.dropped.Add(1)
			}
			continue
		}
		if s.policy == CloseConn && s.state == active && e.data != nil {
			// (A pending subscription's client has not been told its id yet, let alone had
			// a chance to read: it is not the client's fault, so drop as DropNewest.)
			if byBudget {
				c.budget.closed.Add(1)
			}
			c.mu.Unlock()
			c.overflow()
			return ErrOverflow
		}
		if byBudget && e.data != nil {
			c.budget.dropped.Add(1)
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

// pushLocked queues e for s, which has room (its bytes already taken from the budget).
func (c *Conn) pushLocked(s *Subscription, e entry, size int) {
	s.push(e)
	c.queued++
	c.bytes += size
	if s.state == active {
		c.markReadyLocked(s)
	}
}

// Producers that wait (NotifyWait) are paced: they wait while the queue holds two bursts,
// which keeps the drain goroutine busy without filling the queue (and the shared budget) with
// notifications that only wait there.
const (
	paceMessages = 2 * burstMessages
	paceBytes    = 2 * burstBytes
)

// paced reports whether a waiting producer may queue one more notification of size bytes
// (c.mu held): the queue is under its pace and its limits, or empty.
func (c *Conn) paced(size int) bool {
	return c.queued == 0 || (c.fits(size) && c.queued < paceMessages && c.bytes < paceBytes)
}

// enqueueWait queues one notification of s, waiting for room rather than applying the policy:
// room in the connection's queue (see paced), then in the shared budget.
func (c *Conn) enqueueWait(ctx context.Context, s *Subscription, e entry) error {
	size := s.size(&e)
	for {
		var budgetSpace <-chan struct{}
		c.mu.Lock()
		if err := c.refusedLocked(s); err != nil {
			c.mu.Unlock()
			return err
		}
		if c.paced(size) {
			if c.budget.take(size) {
				c.pushLocked(s, e, size) // under the same lock: no other producer takes the room
				c.mu.Unlock()
				return nil
			}
			// Wait for the budget: get its channel, then try again, so that bytes given
			// back in between are not missed.
			b := c.budget
			b.waiters.Add(1)
			budgetSpace = b.spaceChan()
			if b.take(size) {
				b.waiters.Add(-1)
				c.pushLocked(s, e, size)
				c.mu.Unlock()
				return nil
			}
			b.waited.Add(1)
		}
		var space chan struct{}
		if budgetSpace == nil {
			if c.space == nil {
				c.space = make(chan struct{})
			}
			space = c.space
		}
		c.mu.Unlock()
		var err error
		select {
		case <-space:
		case <-budgetSpace:
		case <-s.err:
			err = s.reason
		case <-ctx.Done():
			err = ctx.Err()
		}
		if budgetSpace != nil {
			c.budget.waiters.Add(-1)
		}
		if err != nil {
			return err
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
