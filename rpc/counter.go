package rpc

import (
	"sync"
	"sync/atomic"
)

// callCounter counts calls in flight. Unlike sync.WaitGroup it allows new calls to start while
// someone waits for zero (Stop waits while connections keep sending).
type callCounter struct {
	n       atomic.Int64
	mu      sync.Mutex
	waiters []chan struct{}
}

func (c *callCounter) add() { c.n.Add(1) }

func (c *callCounter) done() {
	if c.n.Add(-1) != 0 {
		return
	}
	c.mu.Lock()
	for _, w := range c.waiters {
		close(w)
	}
	c.waiters = nil
	c.mu.Unlock()
}

// zero returns a channel closed once no call is in flight.
func (c *callCounter) zero() <-chan struct{} {
	ch := make(chan struct{})
	c.mu.Lock()
	if c.n.Load() == 0 {
		close(ch)
	} else {
		c.waiters = append(c.waiters, ch)
	}
	c.mu.Unlock()
	return ch
}
