package subscriptions

import (
	"sync"
	"sync/atomic"
)

// Budget bounds the bytes of notifications queued across many connections: every [Conn]
// created with it charges its queue to it as well as to its own [Limits], so that the sum of
// the queues stays bounded however many connections there are (package rpc gives each server
// one, sized by its Options.MaxQueuedNotificationBytes). When a notification does not fit in
// the budget, its subscription's [Policy] applies as when its own queue is full: a lag notice
// under DropOldest and DropNewest, the connection closed under CloseConn, and NotifyWait
// waits. A Budget counts what it made happen; see [Budget.Stats]. Its methods are safe for
// concurrent use.
type Budget struct {
	limit int64
	used  atomic.Int64

	waiters atomic.Int32 // NotifyWait producers waiting for room
	mu      sync.Mutex
	space   chan struct{} // closed when bytes are given back while someone waits; nil otherwise

	dropped, closed, waited atomic.Uint64
}

// BudgetStats is what a [Budget] holds and what it has done.
type BudgetStats struct {
	Limit, Used int // bytes
	// Dropped counts notifications dropped (DropOldest, DropNewest) because the budget was
	// spent while their own queue had room; Closed the connections closed for that
	// (CloseConn); Waited the times a NotifyWait producer waited for the budget.
	Dropped, Closed, Waited uint64
}

// NewBudget returns a budget of limit bytes; limit < 0 means no limit.
func NewBudget(limit int) *Budget {
	if limit < 0 {
		limit = unlimited
	}
	return &Budget{limit: int64(limit)}
}

// Stats returns the budget's limit, the bytes it holds and its counts.
func (b *Budget) Stats() BudgetStats {
	return BudgetStats{
		Limit: int(b.limit), Used: int(b.used.Load()),
		Dropped: b.dropped.Load(), Closed: b.closed.Load(), Waited: b.waited.Load(),
	}
}

// take takes n bytes and reports whether they fit; when the budget holds nothing, any n fits
// (as a queue takes one notification larger than its limit when it is empty and the producer
// waits). A nil budget takes everything.
func (b *Budget) take(n int) bool {
	if b == nil {
		return true
	}
	for {
		used := b.used.Load()
		if used > 0 && used+int64(n) > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used+int64(n)) {
			return true
		}
	}
}

// give gives back n bytes and wakes the producers waiting for room.
func (b *Budget) give(n int) {
	if b == nil || n == 0 {
		return
	}
	b.used.Add(-int64(n))
	if b.waiters.Load() > 0 {
		b.mu.Lock()
		if b.space != nil {
			close(b.space)
			b.space = nil
		}
		b.mu.Unlock()
	}
}

// spaceChan returns a channel that is closed when bytes are given back. A producer that means to
// wait counts itself in b.waiters and gets the channel before it tries take, so that a release
// after its try closes the channel it waits on.
func (b *Budget) spaceChan() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.space == nil {
		b.space = make(chan struct{})
	}
	return b.space
}
