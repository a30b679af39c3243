package rpc

import (
	"context"
	"sync"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// batch is a batch being answered: its parsed items and the answer array built so far. When a
// deadline may race with it, its fields are guarded by the answer's mutex (see answer).
type batch struct {
	items []batchItem
	next  int         // index of the first item not yet answered
	buf   []byte      // "[" followed by the answers so far, comma separated
	n     int         // answers in buf
	ps    pendingSubs // the batch's subscribe calls (here, not on runBatch's stack: see Call)
}

type batchItem struct {
	req wire.Request
	err *Error // the item is invalid; answer this
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

// maxPooledAnswer is the largest answer buffer a pooled batch keeps.
const maxPooledAnswer = 64 << 10

// recycle returns b to the pool, keeping its slices (cleared, so no message stays reachable)
// unless they grew large.
func (b *batch) recycle() {
	if cap(b.items) > 1024 {
		return
	}
	clear(b.items[:cap(b.items)])
	b.items = b.items[:0]
	b.next, b.n = 0, 0
	b.ps = pendingSubs{}
	b.buf = b.buf[:0]
	if cap(b.buf) > maxPooledAnswer {
		b.buf = nil
	}
	batchPool.Put(b)
}

// add records that the next item has been run, adding its answer to the array if it needs one
// (ok).
func (b *batch) add(resp []byte, ok bool) {
	if ok {
		b.appendItem(resp)
	}
	b.next++
}

// appendItem adds one answer to the array.
func (b *batch) appendItem(resp []byte) {
	if b.n > 0 {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, resp...)
	b.n++
}

// finish closes the array, or returns nil when nothing needs an answer.
func (b *batch) finish() []byte {
	if b.n == 0 {
		return nil
	}
	return append(b.buf, ']')
}

// expire answers the items not yet answered as if they had timed out.
func (b *batch) expire() []byte {
	for _, it := range b.items[b.next:] {
		switch {
		case it.err == errAnswerItem:
		case it.err != nil:
			b.appendItem(appendError(nil, it.req.ID, it.err))
		case it.req.ID != nil:
			b.appendItem(appendError(nil, it.req.ID, errTimeout))
		}
	}
	b.next = len(b.items)
	return b.finish()
}

// errAnswerItem marks a batch element that is an answer: it is dropped, never answered.
var errAnswerItem = invalidRequest("an answer in a batch")

// errNotObject answers a batch element that is not an object.
var errNotObject = invalidRequest("invalid request: not an object")

// parseBatch validates the batch array in msg and parses its elements into items in the same
// pass: each object's envelope, as wire.ParseRequest gives it, and its check.
func parseBatch(msg []byte, items []batchItem) ([]batchItem, error) {
	err := wire.ParseBatch(msg, func(r wire.Request, object bool) {
		items = append(items, batchItem{req: r})
		it := &items[len(items)-1]
		if !object {
			it.err = errNotObject
			return
		}
		if it.req.Method == nil && it.req.IsResponse {
			it.err = errAnswerItem // dropped: the server sends no batches (see callclient.go)
			return
		}
		it.err = checkRequest(&it.req)
	})
	return items, err
}

// processBatch answers a batch: one array holding the answers to its calls, in request order.
// With a deadline (a not nil), a takes the batch over once it starts, and recycles it once
// the message is done; without one, the batch is recycled here.
func (ss *Session) processBatch(ctx context.Context, msg []byte, a *answer) {
	b := batchPool.Get().(*batch)
	if !ss.openBatch(msg, b, a) {
		b.recycle()
		return
	}
	if a != nil && !a.startBatch(ctx, b) {
		return
	}
	reg := ss.registerBatch(ctx, b)
	h := ss.srv.cfg.handler
	if h != nil {
		ss.batchThrough(h, ctx, msg, b, a)
	} else {
		ss.runBatch(ctx, b, a)
	}
	if reg != nil {
		ss.unregisterBatch(b, reg)
	}
	if h != nil {
		ss.closeIfAsked() // the batch is answered
	}
	if a == nil {
		b.recycle()
	}
}

// openBatch parses msg into b and opens its answer array. It answers a batch that cannot run
// (malformed, empty, over the item limit) and reports false for it.
func (ss *Session) openBatch(msg []byte, b *batch, a *answer) bool {
	items, err := parseBatch(msg, b.items[:0])
	b.items = items
	switch {
	case err != nil:
		ss.refused(RefusedInvalid)
		ss.sendError(a, nil, parseError(err))
		return false
	case len(items) == 0:
		ss.refused(RefusedInvalid)
		ss.sendError(a, nil, errEmptyBatch)
		return false
	case len(items) > ss.srv.cfg.batchItems:
		ss.refused(RefusedBatchTooLarge)
		// One error in an array, with the id of the first valid call, as go-ethereum answers.
		var id []byte
		for _, it := range items {
			if it.err == nil && it.req.ID != nil {
				id = it.req.ID
				break
			}
		}
		b.buf = append(appendError(append(b.buf[:0], '['), id, errBatchTooLarge), ']')
		ss.send(a, b.buf)
		return false
	}
	b.buf = append(b.buf[:0], '[')
	return true
}

// runBatch runs the items of b one after another on this goroutine and writes the answer
// array, unless the deadline answers the batch first (a not nil). Once the answers reach
// Options.BatchResponseMaxBytes, the remaining calls do not run and are answered -32003. It
// returns the size of the array it wrote (0: none).
func (ss *Session) runBatch(ctx context.Context, b *batch, a *answer) (size int) {
	ps := &b.ps
	written := false
	defer func() {
		if ps.notifiers != nil {
			ps.finish(written)
		}
	}()
	tmp := getBuf()
	defer putBuf(tmp)
	total, limit := 0, ss.srv.cfg.batchBytes
	for i := range b.items {
		if a.expireIfDue(ctx) {
			return 0
		}
		resp, ok := ss.callItem(ctx, (*tmp)[:0], &b.items[i], total >= limit, ps, len(b.items))
		*tmp = resp
		total += len(resp)
		if !a.addItem(b, resp, ok) {
			return 0 // the deadline answered the batch
		}
	}
	written, size = ss.sendBatch(a, b)
	return size
}

// callItem runs one batch item and appends its answer to buf; full: the batch's answer is at
// its size limit; n: the batch's size. It reports false when the item needs no answer.
func (ss *Session) callItem(ctx context.Context, buf []byte, it *batchItem, full bool, ps *pendingSubs, n int) ([]byte, bool) {
	switch {
	case it.err == errAnswerItem:
		ss.strayAnswer(it.req.ID, "an answer in a batch")
		return buf, false
	case it.err != nil:
		ss.refused(RefusedInvalid)
		return appendError(buf, it.req.ID, it.err), true
	case full && it.req.ID == nil:
		return buf, false
	case full:
		return appendError(buf, it.req.ID, errTooLarge), true
	case ss.cancelled(ctx) != nil: // the batch was cancelled: its calls left do not run
		if it.req.ID == nil {
			return buf, false
		}
		return appendError(buf, it.req.ID, errCancelled), true
	}
	if h := ss.srv.cfg.handler; h != nil && !ss.isCancel(&it.req) {
		return ss.itemThrough(h, ctx, buf, it, ps, n)
	}
	return ss.call(ctx, buf, &it.req, ps)
}

// sendBatch writes the answer array of b unless nothing in it needs an answer or the deadline
// answered first (a not nil); it reports whether it was written, and the array's size.
func (ss *Session) sendBatch(a *answer, b *batch) (bool, int) {
	if a != nil {
		return a.sendBatch(b)
	}
	out := b.finish()
	return out != nil && ss.write(append(out, '\n')), len(out)
}
