package rpc

import (
	"context"
	"sync"
)

// answer is the answer to one timed message, raced by its deadline: the goroutine running the
// message and the deadline's callback (expire) both try to answer, and whichever comes first
// writes while the other writes nothing. Its methods own its lock: callers never take it.
//
// A nil *answer stands for a message without a deadline, where nothing races: startSingle,
// addItem and expireIfDue then act at once; Session.send and Session.sendBatch write directly.
//
// Invariants, under mu: at most one answer is written for the message (written); done is
// closed once, when the answer is written or the message has finished without one (finished);
// once finished, a late expire writes nothing and no longer reads the batch.
type answer struct {
	ss   *Session
	done chan struct{} // closed once finished

	mu       sync.Mutex
	written  bool   // the answer (the message's or the timeout's) is written
	finished bool   // done is closed
	single   []byte // id of a single call still unanswered; nil otherwise
	batch    *batch // the batch being answered, if any; its fields are guarded by mu
	expired  bool   // the deadline passed before the message said what it needs answered
}

func (ss *Session) newAnswer() *answer { return &answer{ss: ss, done: make(chan struct{})} }

// startSingle records that the message is a call with id, which the deadline must answer. If
// the deadline has passed already, it answers now and reports false: the call must not run.
func (a *answer) startSingle(ctx context.Context, id []byte) bool {
	return a == nil || a.start(ctx, id, nil)
}

// startBatch records that the message is batch b, parsed and with its array opened, and takes
// b over: close recycles it. If the deadline has passed already, it answers every item now
// and reports false: the batch must not run.
func (a *answer) startBatch(ctx context.Context, b *batch) bool { return a.start(ctx, nil, b) }

func (a *answer) start(ctx context.Context, id []byte, b *batch) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.single, a.batch = id, b
	if !a.expired && ctx.Err() != context.DeadlineExceeded {
		return true
	}
	a.expired = false
	a.expireLocked()
	return false
}

// send writes msg (ending in '\n') as the message's answer unless the deadline answered first;
// it reports whether msg was written.
func (a *answer) send(msg []byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.written {
		return false
	}
	a.written = true
	ok := a.ss.write(msg)
	a.finishLocked()
	return ok
}

// addItem adds an item's answer to the array of batch b (ok false: the item needs none). It
// reports false, adding nothing, if the deadline has answered the batch: the batch must stop.
func (a *answer) addItem(b *batch, resp []byte, ok bool) bool {
	if a == nil {
		b.add(resp, ok)
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.written {
		return false
	}
	b.add(resp, ok)
	return true
}

// sendBatch closes the array of batch b and writes it, unless nothing in it needs an answer or
// the deadline answered first; it reports whether it was written, and the array's size.
func (a *answer) sendBatch(b *batch) (bool, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.written {
		return false, 0
	}
	out := b.finish()
	if out == nil {
		return false, 0
	}
	a.written = true
	ok := a.ss.write(append(out, '\n'))
	a.finishLocked()
	return ok, len(out)
}

// expireIfDue answers what is still unanswered now if the deadline has passed (ctx is the
// message's context), rather than when the deadline's callback runs, and reports whether it
// has: the message must stop.
func (a *answer) expireIfDue(ctx context.Context) bool { return a != nil && a.expireDue(ctx) }

func (a *answer) expireDue(ctx context.Context) bool {
	if ctx.Err() != context.DeadlineExceeded {
		return false
	}
	a.expire()
	return true
}

// expire is the deadline's callback: it answers whatever is still unanswered with the timeout
// error.
func (a *answer) expire() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireLocked()
}

func (a *answer) expireLocked() {
	if a.written || a.finished {
		return
	}
	switch {
	case a.batch != nil:
		if msg := a.batch.expire(); msg != nil {
			a.written = true
			a.ss.write(append(msg, '\n'))
		}
	case a.single != nil:
		a.written = true
		a.ss.write(append(appendError(nil, a.single, errTimeout), '\n'))
	default:
		// Not parsed yet: whether it needs an answer is not known. start answers it.
		a.expired = true
		return
	}
	a.finishLocked()
}

// close is called once the message has been processed: it finishes the answer (a message that
// needed none is done too) and recycles the batch, which a later expire no longer reads.
func (a *answer) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.finishLocked()
	if a.batch != nil {
		a.batch.recycle()
		a.batch = nil
	}
}

func (a *answer) finishLocked() {
	if !a.finished {
		a.finished = true
		close(a.done)
	}
}
