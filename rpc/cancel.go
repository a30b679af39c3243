package rpc

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// Cancellation (Options.CancelMethod). A call can only be cancelled while its connection is
// read, that is while it runs on a worker, or inline after reading has been handed over or
// taken over by the watchdog (see reader); a call that runs inline with nothing else in
// flight cannot see the cancel notification before it is done anyway. So only those calls
// are registered, by id, and the quick inline call, the common case, pays nothing:
//
//   - a message run on a worker (dispatched, or handed over with reading) gets a context of
//     its own, registered under its ids once it has been parsed, and ended when it is done;
//   - a message run inline gets the reader's reusable context (see reader.inlineCtx), which
//     the watchdog registers under the message's ids when it takes reading over;
//   - Session.Handle with a context that can end (in-process calls) runs its message on a
//     worker, registered; with one that cannot (HTTP, whose client cancels by closing the
//     request; in-process calls that cannot be cancelled) it does not register.
//
// Invariants: cancels.n is the number of ids registered, and the call path looks at a call's
// context for a cancellation only while it is not zero; cancels.ctxs is the number of message
// contexts that register and have not ended, and a message is registered only while it is not
// zero (or by a takeover).

// errCancelRequested is the cause of a context cancelled by the cancel notification.
var errCancelRequested = errors.New("rpc: request cancelled by the client")

// maxCancelMessage bounds a message the reader looks at as a possible cancel notification
// before it takes a call slot.
const maxCancelMessage = 512

// cancels maps the ids of a session's registered calls to their contexts. Its keys are hashes
// of the ids, so that registering allocates nothing; an entry keeps the id (which aliases the
// message: a message is unregistered before its bytes are released) to tell ids apart.
type cancels struct {
	n    atomic.Int64 // ids registered
	ctxs atomic.Int64 // message contexts that register, not ended yet (see newMsgCtx)
	mu   sync.Mutex
	seed maphash.Seed
	m    map[uint64]cancelEntry
}

type cancelEntry struct {
	id []byte
	c  *lazyCtx
}

func (t *cancels) add(id []byte, c *lazyCtx) {
	t.mu.Lock()
	if t.m == nil {
		t.seed, t.m = maphash.MakeSeed(), make(map[uint64]cancelEntry)
	}
	t.m[maphash.Bytes(t.seed, id)] = cancelEntry{id, c} // a later registration of id wins
	t.mu.Unlock()
	t.n.Add(1)
}

// remove unregisters id, unless another message registered it meanwhile (a client reusing
// ids).
func (t *cancels) remove(id []byte, c *lazyCtx) {
	t.mu.Lock()
	h := maphash.Bytes(t.seed, id)
	if t.m[h].c == c {
		delete(t.m, h)
	}
	t.mu.Unlock()
	t.n.Add(-1)
}

// cancel cancels the call registered under id, if any.
func (t *cancels) cancel(id []byte) {
	t.mu.Lock()
	var e cancelEntry
	if t.m != nil {
		e = t.m[maphash.Bytes(t.seed, id)]
	}
	t.mu.Unlock()
	if e.c != nil && bytes.Equal(e.id, id) {
		e.c.cancelCause(errCancelRequested)
	}
}

// cancelOn reports whether the server takes cancel notifications.
func (ss *Session) cancelOn() bool { return ss.srv.cfg.cancelQuoted != nil }

// newMsgCtx returns a context of its own for a message of the session, registered under the
// message's ids once it is parsed if reg (and cancellation is on); end it with end.
func (ss *Session) newMsgCtx(reg bool) *lazyCtx {
	c := &lazyCtx{parent: ss.ctx, reg: reg && ss.cancelOn()}
	if c.reg {
		ss.cancels.ctxs.Add(1)
	}
	if err := ss.ctx.Err(); err != nil {
		c.err = err
	}
	return c
}

// endMsgCtx ends a message's context once the message is done.
func (ss *Session) endMsgCtx(c *lazyCtx) {
	c.end()
	if c.reg {
		ss.cancels.ctxs.Add(-1)
	}
}

// regCtx returns the context to register a message under, when the message's context ctx is
// one that registers (a message's own, or a deadline context made from one).
func regCtx(ctx context.Context) *lazyCtx {
	c, ok := ctx.(*lazyCtx)
	if ok && c.d != nil {
		c, ok = c.parent.(*lazyCtx)
	}
	if !ok || !c.reg {
		return nil
	}
	return c
}

// isCancel reports whether the valid request req is the cancel notification.
func (ss *Session) isCancel(req *wire.Request) bool {
	q := ss.srv.cfg.cancelQuoted
	return req.ID == nil && q != nil && len(req.Method) == len(q) && bytes.Equal(req.Method, q)
}

// tryCancel handles msg if it is a cancel notification, and reports whether it was: the
// reader's check, made before a call slot is taken, so that a client at its limit of calls in
// flight can still cancel one. Messages longer than a cancel notification are not looked at.
func (ss *Session) tryCancel(msg []byte) bool {
	if len(msg) > maxCancelMessage || !bytes.Contains(msg, ss.srv.cfg.cancelQuoted) {
		return false
	}
	i := wire.SkipSpace(msg, 0)
	if i == len(msg) || msg[i] != '{' {
		return false
	}
	req, err := wire.ParseRequest(msg[i:])
	if err != nil || checkRequest(&req) != nil || !ss.isCancel(&req) {
		return false
	}
	ss.cancelRequest(req.Params)
	return true
}

// cancelRequest cancels the call that the params of a cancel notification name: {"id":ID}
// or [ID].
func (ss *Session) cancelRequest(params []byte) {
	if ss.cancels.n.Load() == 0 || len(params) == 0 {
		return
	}
	var id []byte
	if params[0] == '[' {
		wire.Array(params, 0, func(s, e int) error {
			if id == nil {
				id = params[s:e]
			}
			return nil
		})
	} else {
		wire.Object(params, 0, func(key []byte, esc bool, s, e int) error {
			if wire.KeyIs(key, esc, "id") {
				id = params[s:e]
			}
			return nil
		})
	}
	if id != nil {
		ss.cancels.cancel(id)
	}
}

// cancelled returns the answer to a call whose context the client cancelled, or nil. It
// looks at ctx only while calls are registered.
func (ss *Session) cancelled(ctx context.Context) *Error {
	if ss.cancels.n.Load() == 0 {
		return nil
	}
	return cancelledBy(ctx)
}

func cancelledBy(ctx context.Context) *Error {
	if ctx.Err() != context.Canceled || context.Cause(ctx) != errCancelRequested {
		return nil
	}
	return errCancelled
}

// register registers the single request id (nil: a notification) under the message's
// context, if it is one that registers, and returns that context for cancels.remove. It is
// inlined: without a message context that registers, it costs a load.
func (ss *Session) register(ctx context.Context, id []byte) *lazyCtx {
	if ss.cancels.ctxs.Load() == 0 || id == nil {
		return nil
	}
	return ss.registerSlow(ctx, id)
}

func (ss *Session) registerSlow(ctx context.Context, id []byte) *lazyCtx {
	c := regCtx(ctx)
	if c != nil {
		ss.cancels.add(id, c)
	}
	return c
}

// registerBatch registers the calls of batch b as register does.
func (ss *Session) registerBatch(ctx context.Context, b *batch) *lazyCtx {
	if ss.cancels.ctxs.Load() == 0 {
		return nil
	}
	c := regCtx(ctx)
	if c == nil {
		return nil
	}
	for i := range b.items {
		if id := b.items[i].req.ID; id != nil && b.items[i].err == nil {
			ss.cancels.add(id, c)
		}
	}
	return c
}

func (ss *Session) unregisterBatch(b *batch, c *lazyCtx) {
	for i := range b.items {
		if id := b.items[i].req.ID; id != nil && b.items[i].err == nil {
			ss.cancels.remove(id, c)
		}
	}
}

// messageIDs returns the ids of the calls in msg (a request or a batch), for registering a
// message that is already running.
func messageIDs(msg []byte) [][]byte {
	var ids [][]byte
	i := wire.SkipSpace(msg, 0)
	switch {
	case i == len(msg):
	case msg[i] == '{':
		if req, err := wire.ParseRequest(msg[i:]); err == nil && checkRequest(&req) == nil && req.ID != nil {
			ids = append(ids, req.ID)
		}
	case msg[i] == '[':
		wire.ParseBatch(msg[i:], func(req wire.Request, object bool) {
			if object && checkRequest(&req) == nil && req.ID != nil {
				ids = append(ids, req.ID)
			}
		})
	}
	return ids
}
