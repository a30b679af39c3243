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
// done, or when cancel is called (context.Canceled), as context.WithDeadline's. When the
// deadline passes first, expired (if not nil) runs on its own goroutine: what a caller would
// otherwise arrange with context.AfterFunc, without following the parent (see deadlineCtx).
func (d *deadlines) with(parent context.Context, dl time.Time, expired func()) (context.Context, context.CancelFunc) {
	c := &deadlineCtx{parent: parent, dl: dl, d: d, expired: expired}
	if err := parent.Err(); err != nil {
		c.err = err
		return c, func() {}
	}
	if time.Until(dl) <= 0 {
		c.err = context.DeadlineExceeded
		if expired != nil {
			go expired()
		}
		return c, func() {}
	}
	d.add(c)
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

// lazyCancel returns a context that is done when cancel is called or parent is done, as
// context.WithCancel's, and whose Value answers key with val (and asks parent for the rest): a
// session's context, made per HTTP request. Like a call's deadline context, it follows
// parent's cancellation only once something waits for it, which context.WithCancel does at
// once: an allocation for the parent's list of children, and locks of the parent at creation
// and at cancel, for a context that the calls of most requests never wait on.
func lazyCancel(parent context.Context, key, val any) (context.Context, context.CancelFunc) {
	c := &deadlineCtx{parent: parent, key: key, val: val}
	if err := parent.Err(); err != nil {
		c.err = err
	}
	return c, func() { c.cancel(context.Canceled) }
}

// deadlineCtx is a context of deadlines, or (d nil) one without a deadline of its own, made by
// lazyCancel. It implements AfterFunc, which the context package uses for the contexts derived
// from it (and for context.AfterFunc), so that they need no goroutine of their own.
// context.Cause on it reports its parent's cause, not its own.
//
// It follows its parent's cancellation only once something waits for it (Done, AfterFunc):
// linking to the parent costs allocations and a lock of the parent per call, and most methods
// never look. Err consults the parent itself, so that a cancelled parent shows at once
// either way.
type deadlineCtx struct {
	parent   context.Context
	dl       time.Time
	d        *deadlines // nil: no deadline of its own (lazyCancel)
	expired  func()     // run when the deadline passes first; see with
	key, val any        // a value of its own (lazyCancel); key nil: none

	prev, next *deadlineCtx // guarded by d.mu
	listed     bool         // guarded by d.mu

	mu         sync.Mutex
	done       chan struct{} // made on demand
	err        error
	funcs      []*afterFunc
	linked     bool        // the parent's cancellation is followed
	stopParent func() bool // undoes the link; nil if the parent was done first
}

type afterFunc struct{ f func() }

func (c *deadlineCtx) Deadline() (time.Time, bool) {
	if c.d == nil {
		return c.parent.Deadline()
	}
	return c.dl, true
}

func (c *deadlineCtx) Value(key any) any {
	if c.key != nil && key == c.key {
		return c.val
	}
	return c.parent.Value(key)
}

func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		} else {
			c.linkLocked()
		}
	}
	return c.done
}

func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.parent.Err(); err != nil {
		c.cancel(err) // the link, if any, may not have run yet
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err // a cancel that raced with this one may have set another error first
	}
	return nil
}

// linkLocked makes c follow its parent's cancellation, once (c.mu held). The parent's
// AfterFunc never calls back synchronously, so holding c.mu here cannot deadlock.
func (c *deadlineCtx) linkLocked() {
	if c.linked {
		return
	}
	c.linked = true
	c.stopParent = context.AfterFunc(c.parent, func() { c.cancel(c.parent.Err()) })
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
	c.linkLocked()
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
	if err == context.DeadlineExceeded && c.d != nil {
		// A parent cancelled before the deadline goes unseen until then when nothing waited
		// on c: it wins, as it would have through the link.
		if perr := c.parent.Err(); perr != nil {
			err = perr
		}
	}
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
	c.funcs, c.stopParent = nil, nil
	c.mu.Unlock()
	switch {
	case c.d == nil: // no deadline of its own (lazyCancel): never listed, nothing expires
	case err != context.DeadlineExceeded:
		c.d.remove(c)
	case c.expired != nil:
		go c.expired()
	}
	if stop != nil {
		stop()
	}
	for _, a := range funcs {
		go a.f()
	}
}
