package rpc

import (
	"context"
	"sync"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// batch is a batch being answered: its parsed items and the answer array built so far. When a
// timeout may race with it, its fields are guarded by the answer's mutex.
type batch struct {
	items []batchItem
	next  int    // index of the first item not yet answered
	buf   []byte // "[" followed by the answers so far, comma separated
	n     int    // answers in buf
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
	b.buf = b.buf[:0]
	if cap(b.buf) > maxPooledAnswer {
		b.buf = nil
	}
	batchPool.Put(b)
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
		case it.err != nil:
			b.appendItem(appendError(nil, it.req.ID, it.err))
		case it.req.ID != nil:
			b.appendItem(appendError(nil, it.req.ID, errTimeout))
		}
	}
	b.next = len(b.items)
	return b.finish()
}

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
		it.err = checkRequest(&it.req)
	})
	return items, err
}

// processBatch answers a batch: one array holding the answers to its calls, in request order.
// Items run one after another on this goroutine.
func (ss *Session) processBatch(ctx context.Context, msg []byte, a *answer) {
	b := batchPool.Get().(*batch)
	owned := true // false once a timeout may answer from b: then a.release recycles it
	defer func() {
		if owned {
			b.recycle()
		}
	}()
	items, err := parseBatch(msg, b.items[:0])
	b.items = items
	if err != nil {
		ss.sendError(a, nil, parseError(err))
		return
	}
	if len(items) == 0 {
		ss.sendError(a, nil, errEmptyBatch)
		return
	}
	if len(items) > ss.srv.cfg.batchItems {
		var id []byte
		for _, it := range b.items {
			if it.err == nil && it.req.ID != nil {
				id = it.req.ID
				break
			}
		}
		b.buf = append(appendError(append(b.buf[:0], '['), id, errBatchTooLarge), ']')
		ss.send(a, b.buf)
		return
	}
	b.buf = append(b.buf[:0], '[')
	if a != nil {
		owned = false
		if !a.register(ctx, func() { a.batch = b }) {
			return // the deadline passed before the batch could start: answered -32002
		}
	}
	size, limit := 0, ss.srv.cfg.batchBytes
	var ps pendingSubs
	written := false
	defer func() {
		if ps.notifiers != nil {
			ps.finish(written)
		}
	}()
	tmp := getBuf()
	defer putBuf(tmp)
	for i := range b.items {
		if a != nil && ctx.Err() == context.DeadlineExceeded {
			ss.expire(a) // answers the rest now, rather than when the deadline's callback runs
			return
		}
		it := &b.items[i]
		resp, ok := (*tmp)[:0], true
		switch {
		case it.err != nil:
			resp = appendError(resp, it.req.ID, it.err)
		case size >= limit:
			if it.req.ID == nil {
				ok = false
			} else {
				resp = appendError(resp, it.req.ID, errTooLarge)
			}
		default:
			resp, ok = ss.call(ctx, resp, &it.req, &ps)
		}
		*tmp = resp
		size += len(resp)
		if a != nil {
			a.mu.Lock()
		}
		if a != nil && a.written {
			a.mu.Unlock()
			return
		}
		if ok {
			b.appendItem(resp)
		}
		b.next = i + 1
		if a != nil {
			a.mu.Unlock()
		}
	}
	if a != nil {
		// A timeout may be answering the batch right now: decide under its lock.
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.written {
			return
		}
	}
	out := b.finish()
	if out == nil {
		return
	}
	out = append(out, '\n')
	if a != nil {
		a.written = true
		defer a.finishLocked()
	}
	written = ss.write(out)
}
