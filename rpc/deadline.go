package rpc

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlines gives calls their deadline contexts with one timer for all of them, instead of
// context.WithDeadline's timer per call, so that a call that finishes in time arms, moves and
// stops no timer. The pending contexts are kept in deadline order (calls get deadlines in
// nearly the order they start, so an insertion is nearly always at the end); the timer is
// armed for the first one and is not moved when that one finishes early: when it fires it
// cancels what is due and re-arms itself for the next, so with a steady stream of calls that
// finish in time it fires once per timeout, not once per call.
type deadlines struct {
	mu          sync.Mutex
	first, last *lazyCtx
	timer       *time.Timer
	armed       time.Time // when the timer fires; zero: not armed
}

// with returns a context that is done at dl (with context.DeadlineExceeded), when parent is
// done, or when cancel is called (context.Canceled), as context.WithDeadline's (see lazyCtx
// for the differences). When the deadline passes first, expired (if not nil) runs on its own
// goroutine: what a caller would otherwise arrange with context.AfterFunc, without following
// the parent.
func (d *deadlines) with(parent context.Context, dl time.Time, expired func()) (context.Context, context.CancelFunc) {
	if pdl, ok := parent.Deadline(); ok && pdl.Before(dl) {
		dl = pdl // as context.WithDeadline: never later than the parent's
	}
	c := &lazyCtx{parent: parent, dl: dl, d: d, expired: expired}
	if err := parent.Err(); err != nil {
		c.err = err
		return c, func() {}
	}
	if time.Until(dl) <= 0 {
		c.err = context.DeadlineExceeded
		c.own.Store(true)
		if expired != nil {
			go expired()
		}
		return c, func() {}
	}
	d.add(c)
	return c, func() { c.cancelOwn(context.Canceled) }
}

func (d *deadlines) add(c *lazyCtx) {
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
func (d *deadlines) remove(c *lazyCtx) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unlinkLocked(c)
}

func (d *deadlines) unlinkLocked(c *lazyCtx) {
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
	var due []*lazyCtx
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
		c.cancelOwn(context.DeadlineExceeded)
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
// parent's cancellation only once something waits for it (see lazyCtx), where
// context.WithCancel adds itself to the parent's children at once, for a context that the
// calls of most requests never wait on.
func lazyCancel(parent context.Context, key, val any) (context.Context, context.CancelFunc) {
	c := &lazyCtx{parent: parent, key: key, val: val}
	if err := parent.Err(); err != nil {
		c.err = err
	}
	return c, func() { c.cancelOwn(context.Canceled) }
}

// lazyCtx is a context that follows its parent's cancellation lazily: a call's deadline
// context (made by deadlines.with, d not nil) or a session's context (made by lazyCancel, d
// nil: no deadline of its own). It implements AfterFunc, which the context package uses for the
// contexts derived from it (and for context.AfterFunc), so that they need no goroutine of their
// own.
//
// It links itself to its parent (context.AfterFunc) only once something waits for it (Done,
// AfterFunc): linking costs allocations and locks of the parent, and most methods never look.
// Err consults the parent itself, so that a cancelled parent shows at once either way.
//
// It behaves as context.WithDeadline's and context.WithCancel's contexts do (Done, Err, Cause,
// Deadline, Value, AfterFunc; rpc/deadline_semantics_test.go compares them), except that after
// the parent's cancellation Done closes on the goroutine of the link, shortly after the
// parent's cancel has returned rather than before.
type lazyCtx struct {
	parent   context.Context
	dl       time.Time
	d        *deadlines // nil: no deadline of its own (lazyCancel)
	expired  func()     // run when the deadline passes first; see with
	key, val any        // a value of its own (lazyCancel); key nil: none
	reg      bool       // a message's context, registered for cancellation (see cancel.go)
	// also, when not nil, is a second context whose end cancels c as the cancel notification
	// does (the one given to Session.Handle, when it can end), followed as lazily as parent;
	// its values are not c's.
	also context.Context

	prev, next *lazyCtx // guarded by d.mu
	listed     bool     // guarded by d.mu

	// own is set once c is done by its own deadline or cancel func, not by its parent's
	// cancellation: Value then answers through causeCtx, so that context.Cause reports c's
	// error (as it does for the standard contexts) rather than the parent's cause.
	own atomic.Bool

	mu         sync.Mutex
	done       chan struct{} // made on demand
	err        error
	cause      error // set by cancelCause: what context.Cause reports instead of err
	funcs      []*afterFunc
	linked     bool             // the parent's cancellation is followed
	stopParent func() bool      // undoes the link; nil if the parent was done first
	stopAlso   func() bool      // undoes the link to also
	causeCtx   *context.Context // made on demand once own; see Value
}

type afterFunc struct{ f func() }

func (c *lazyCtx) Deadline() (time.Time, bool) {
	if c.d == nil {
		return c.parent.Deadline()
	}
	return c.dl, true
}

func (c *lazyCtx) Value(key any) any {
	if c.key != nil && key == c.key {
		return c.val
	}
	if c.own.Load() {
		return c.causeContext().Value(key)
	}
	return c.parent.Value(key)
}

// causeContext returns a context with the parent's values whose cause is c's error, made the
// first time: context.Cause finds the cause of a context through Value, and the standard
// contexts are the only ones it reads a cause from.
func (c *lazyCtx) causeContext() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.causeCtx == nil {
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(c.parent))
		cause := c.err
		if c.cause != nil {
			cause = c.cause
		}
		cancel(cause)
		c.causeCtx = &ctx // a pointer: the field is in every call's context, this is rare
	}
	return *c.causeCtx
}

func (c *lazyCtx) Done() <-chan struct{} {
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

func (c *lazyCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.parent.Err(); err != nil {
		c.cancel(err, false) // the link, if any, may not have run yet
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err // a cancel that raced with this one may have set another error first
	}
	if c.also != nil && c.also.Err() != nil {
		c.cancelCause(errCancelRequested)
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	}
	return nil
}

// linkLocked makes c follow its parent's cancellation, once (c.mu held). The parent's
// AfterFunc never calls back synchronously, so holding c.mu here cannot deadlock.
func (c *lazyCtx) linkLocked() {
	if c.linked {
		return
	}
	c.linked = true
	c.stopParent = context.AfterFunc(c.parent, func() { c.cancel(c.parent.Err(), false) })
	if c.also != nil {
		c.stopAlso = context.AfterFunc(c.also, func() { c.cancelCause(errCancelRequested) })
	}
}

// AfterFunc arranges for f to run on its own goroutine once c is done; stop undoes that if f
// has not been started, and reports whether it did (context.AfterFunc's contract).
func (c *lazyCtx) AfterFunc(f func()) (stop func() bool) {
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

// cancelOwn is c's deadline passing (context.DeadlineExceeded) or its cancel func
// (context.Canceled). A parent cancelled before goes unseen until then when nothing waited on
// c: it wins, as it would have through the link.
func (c *lazyCtx) cancelOwn(err error) {
	if perr := c.parent.Err(); perr != nil {
		c.cancel(perr, false)
		return
	}
	c.cancel(err, true)
}

// cancelCause cancels c as its cancel func does (context.Canceled), with cause as what
// context.Cause reports.
func (c *lazyCtx) cancelCause(cause error) {
	c.mu.Lock()
	if c.err == nil {
		c.cause = cause
	}
	c.mu.Unlock()
	c.cancelOwn(context.Canceled)
}

// end cancels a message's context (see Session.newMsgCtx) once the message is done.
func (c *lazyCtx) end() { c.cancelOwn(context.Canceled) }

// cancel makes c done with err, unless it is done already; own: by its own deadline or cancel
// func, not by its parent.
func (c *lazyCtx) cancel(err error, own bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if own {
		c.own.Store(true)
	}
	if c.done != nil {
		close(c.done)
	}
	funcs, stop, stopAlso := c.funcs, c.stopParent, c.stopAlso
	c.funcs, c.stopParent, c.stopAlso = nil, nil, nil
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
	if stopAlso != nil {
		stopAlso()
	}
	for _, a := range funcs {
		go a.f()
	}
}
