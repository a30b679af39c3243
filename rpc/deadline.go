package rpc

import (
	"context"
	"sync"
	"time"
)

// deadlines gives calls their deadline contexts with one timer for all of them, instead of
// context.WithDeadline's timer per call: arming and stopping a timer wakes the runtime's
// network poller, which on these machines costs a short HTTP call a sizeable share of its time.
// The pending contexts are kept in deadline order (calls get deadlines in nearly the order
// they start, so an insertion is nearly always at the end); the timer is armed for the first
// one and is not moved when that one finishes early: when it fires it cancels what is due and
// re-arms itself for the next, so with a steady stream of calls that finish in time it fires
// once per timeout, not once per call.
type deadlines struct {
	mu          sync.Mutex
	first, last *deadlineCtx
	timer       *time.Timer
	armed       time.Time // when the timer fires; zero: not armed
}

// with returns a context that is done at dl (with context.DeadlineExceeded), when parent is
// done, or when cancel is called (context.Canceled), as context.WithDeadline's.
func (d *deadlines) with(parent context.Context, dl time.Time) (context.Context, context.CancelFunc) {
	c := &deadlineCtx{parent: parent, dl: dl, d: d}
	if err := parent.Err(); err != nil {
		c.err = err
		return c, func() {}
	}
	if time.Until(dl) <= 0 {
		c.err = context.DeadlineExceeded
		return c, func() {}
	}
	d.add(c)
	stop := context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
	c.mu.Lock()
	c.stopParent = stop // nil in cancel if the parent was done first: nothing to stop then
	c.mu.Unlock()
	return c, func() { c.cancel(context.Canceled) }
}

func (d *deadlines) add(c *deadlineCtx) {
	d.mu.Lock()
	defer d.mu.Unlock()
	at := d.last
	for at != nil && at.dl.After(c.dl) {
		at = at.prev
	}
	// Insert c after at (at nil: first).
	c.prev = at
	if at == nil {
		c.next, d.first = d.first, c
	} else {
		c.next, at.next = at.next, c
	}
	if c.next == nil {
		d.last = c
	} else {
		c.next.prev = c
	}
	c.listed = true
	if d.armed.IsZero() || c.dl.Before(d.armed) {
		d.armed = c.dl
		if d.timer == nil {
			d.timer = time.AfterFunc(time.Until(c.dl), d.fire)
		} else {
			d.timer.Reset(time.Until(c.dl))
		}
	}
}

// remove takes c out of the list; the timer is left as it is.
func (d *deadlines) remove(c *deadlineCtx) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unlinkLocked(c)
}

func (d *deadlines) unlinkLocked(c *deadlineCtx) {
	if !c.listed {
		return
	}
	if c.prev == nil {
		d.first = c.next
	} else {
		c.prev.next = c.next
	}
	if c.next == nil {
		d.last = c.prev
	} else {
		c.next.prev = c.prev
	}
	c.prev, c.next, c.listed = nil, nil, false
}

// fire is the timer's function: it expires the contexts that are due and re-arms the timer
// for the next one.
func (d *deadlines) fire() {
	var due []*deadlineCtx
	d.mu.Lock()
	now := time.Now()
	for d.first != nil && !d.first.dl.After(now) {
		c := d.first
		d.unlinkLocked(c)
		due = append(due, c)
	}
	d.armed = time.Time{}
	if d.first != nil {
		d.armed = d.first.dl
		d.timer.Reset(d.first.dl.Sub(now))
	}
	d.mu.Unlock()
	for _, c := range due {
		c.cancel(context.DeadlineExceeded)
	}
}

// stop stops the timer; contexts still pending stay so until cancelled.
func (d *deadlines) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.armed = time.Time{}
}

// deadlineCtx is a context of deadlines. It implements AfterFunc, which the context package
// uses for the contexts derived from it (and for context.AfterFunc), so that they need no
// goroutine of their own. context.Cause on it reports its parent's cause, not its own.
type deadlineCtx struct {
	parent context.Context
	dl     time.Time
	d      *deadlines

	prev, next *deadlineCtx // guarded by d.mu
	listed     bool         // guarded by d.mu

	mu         sync.Mutex
	done       chan struct{} // made on demand
	err        error
	funcs      []*afterFunc
	stopParent func() bool
}

type afterFunc struct{ f func() }

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.dl, true }

func (c *deadlineCtx) Value(key any) any { return c.parent.Value(key) }

func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc arranges for f to run on its own goroutine once c is done; stop undoes that if f
// has not been started, and reports whether it did (context.AfterFunc's contract).
func (c *deadlineCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.funcs = append(c.funcs, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.funcs {
			if x == a {
				c.funcs = append(c.funcs[:i], c.funcs[i+1:]...)
				return true
			}
		}
		return false
	}
}

func (c *deadlineCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	funcs, stop := c.funcs, c.stopParent
	c.funcs = nil
	c.mu.Unlock()
	if err != context.DeadlineExceeded {
		c.d.remove(c)
	}
	if stop != nil {
		stop()
	}
	for _, a := range funcs {
		go a.f()
	}
}
