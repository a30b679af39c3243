package rpc

import (
	"context"
	"sync"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// Middleware wraps the handling of calls: it returns a [Handler] that may look at the call,
// refuse it, or pass it on to next and look at its [Outcome]. Options.Middleware lists the
// server's middlewares; the first is the outermost, so it sees a call first and its outcome
// last. The same chain serves every call of every transport (in-process, IPC, HTTP,
// WebSocket): each call and notification, each subscribe and unsubscribe call, each batch as
// a whole ([KindBatch]) and then each of its items on its own.
//
// A middleware runs before the call's params are decoded, so refusing a call costs nothing
// more than the check. To refuse, it returns without calling next, with an Outcome whose Err
// is the error to answer (a notification is not answered) or whose Close closes the
// connection (both may be set: the error is answered, then the connection is closed). A
// middleware that calls next must return next's Outcome; it may set Close on it. A context a
// middleware passes to next reaches the next middlewares and the method (tracing spans, values
// of its own).
//
// A middleware measures what it wants to measure itself (a clock read before and after next,
// for example; time.Since of a fixed time reads the clock once, time.Now twice): the server
// adds nothing to a call that no middleware asks for. Per-method state is best kept in a slice
// indexed by Method.Index.
type Middleware func(next Handler) Handler

// Handler handles one call and reports its outcome; see [Middleware]. The *Call is valid only
// until the Handler returns: copy what must outlive it.
type Handler func(ctx context.Context, c *Call) Outcome

// CallKind says what a [Call] is.
type CallKind uint8

// The kinds of calls a [Middleware] sees.
const (
	KindCall         CallKind = iota // a request with an id: it is answered
	KindNotification                 // a request without an id: it runs and is not answered
	KindSubscribe                    // NS_subscribe, with or without an id
	KindUnsubscribe                  // NS_unsubscribe, with or without an id
	KindBatch                        // a batch as a whole; each item is then a call of its own
)

// String returns the kind's name: "call", "notification", "subscribe", "unsubscribe", "batch".
func (k CallKind) String() string {
	switch k {
	case KindCall:
		return "call"
	case KindNotification:
		return "notification"
	case KindSubscribe:
		return "subscribe"
	case KindUnsubscribe:
		return "unsubscribe"
	case KindBatch:
		return "batch"
	}
	return "unknown"
}

// Call is what a [Middleware] knows about a call before it runs. The server fills it in; a
// middleware reads it. It and the slices it holds are valid only while the handler runs.
type Call struct {
	// Kind says whether this is a call, a notification, a subscribe or unsubscribe call, or a
	// batch as a whole.
	Kind CallKind
	// Method is the method the call names, as registered; never nil. A name that is not
	// registered, or not callable on this connection, is the server's [MethodOther] marker,
	// and a batch as a whole is [MethodBatch], so that per-method state stays bounded however
	// many names clients make up.
	Method *MethodInfo
	// ID is the request's id as sent (raw JSON: 7, "a"); nil for a notification and a batch.
	ID []byte
	// ParamsSize is the size in bytes of the raw params (for a batch: of the whole message).
	ParamsSize int
	// BatchSize is the number of items of the batch this call belongs to, or is (KindBatch);
	// 0 for a call outside a batch.
	BatchSize int
	// Conn describes the connection (an HTTP request is a connection of its own). Its
	// Principal is what the transport's authenticator returned.
	Conn *ConnInfo

	// Set by the server for the final handler. req and ps are a batch item's and the batch's,
	// or for a single request reqv and psv: a caller's own on its stack would have to move to
	// the heap for every call, middlewares or not.
	ss    *Session
	kind  CallKind // Kind as the server set it (a middleware may change Kind)
	req   *wire.Request
	ps    *pendingSubs
	reqv  wire.Request
	psv   pendingSubs
	cb    *callback // the method, or the subscription, when known
	e     *Error    // what the lookup found wrong, answered instead of running the call
	sub   subCall   // a subscribe call's parts
	b     *batch    // KindBatch: the batch and its answer
	a     *answer
	buf   []byte // the answer is appended to it
	ran   bool   // the final handler ran
	ok    bool   // the answer appended to buf must be written
	start int    // where the answer begins in buf
}

// Outcome is what became of a call: its error, or success, and the size of its answer.
type Outcome struct {
	// Err is the error the call was answered with (for a notification: the error it had, which
	// nobody is told); nil on success. For a batch as a whole it is nil unless the batch was
	// refused; its items' errors are in their own outcomes.
	Err *Error
	// Size is the size in bytes of the answer (a batch's: of its array), 0 when there is none.
	Size int
	// Close, set by a middleware, closes the connection once the call's answer (if any) has
	// been written, telling the peer Close as the reason where the transport can: a WebSocket
	// close frame (code 1008); an HTTP response with Connection: close (HTTP/1; the reason is
	// not sent); an IPC connection closed. Hooks.ConnClosed gets Close as the reason.
	Close string
}

// MethodInfo describes a registered method to middlewares and hooks. The server makes one per
// method and one per subscription when they are registered; it does not change afterwards,
// so the pointer can key per-method state. Index is a small number, stable for a wire name
// (and subscription name) for the life of the server even when the method is registered
// again, for indexing a slice of per-method state.
type MethodInfo struct {
	// Name is the wire name: namespace_method, NS_subscribe for a subscription, NS_unsubscribe,
	// or a marker (MethodOther, MethodBatch).
	Name string
	// Subscription is the subscription's name for a subscription ("" otherwise).
	Subscription string
	// Namespace is the namespace the method was registered under ("" for the markers).
	Namespace string
	// Permission is the permission a caller needs (see [WithPermission]); "" when none.
	Permission string
	// Index is 0 for MethodOther, 1 for MethodBatch, and from 2 on for registered methods.
	Index int
}

// The names of the markers that stand for a method in [Call.Method] and in hooks.
const (
	// MethodOther stands for every name that is not registered or not callable on the
	// connection (OpenTelemetry's name for a value outside a known set).
	MethodOther = "_OTHER"
	// MethodBatch stands for a batch as a whole.
	MethodBatch = "_BATCH"
)

// subCall is a subscribe call's name taken apart: its namespace, the subscription's name and
// the method's own params.
type subCall struct {
	ns, name string
	rest     []byte
}

// callState is a Call and the buffer its answer is built in, pooled together: one pool round
// trip per call.
type callState struct {
	call Call
	buf  []byte
}

var callPool = sync.Pool{New: func() any { return &callState{buf: make([]byte, 0, 512)} }}

func getCall() *callState { return callPool.Get().(*callState) }

// putCall clears what st's Call refers to of the message and the call (the fields that every
// use sets, such as the session, are left as they are) and pools st.
func putCall(st *callState) {
	c := &st.call
	c.reqv, c.ID, c.buf = wire.Request{}, nil, nil
	if c.psv.conn != nil {
		c.psv = pendingSubs{}
	}
	if c.kind == KindSubscribe {
		c.sub = subCall{}
	}
	if c.kind == KindBatch {
		c.b, c.a = nil, nil
	}
	c.cb, c.e, c.ran, c.ok = nil, nil, false, false
	if cap(st.buf) > maxPooledBuf {
		st.buf = make([]byte, 0, 512)
	}
	callPool.Put(st)
}

// itemThrough runs batch item it through the middlewares h; see callItem.
func (ss *Session) itemThrough(h Handler, ctx context.Context, buf []byte, it *batchItem, ps *pendingSubs, n int) ([]byte, bool) {
	st := getCall()
	defer putCall(st)
	c := &st.call
	c.req, c.ps = &it.req, ps
	return ss.callThrough(h, ctx, buf, c, n)
}

// processSingleThrough is processSingle with middlewares h: the request is parsed into a Call.
func (ss *Session) processSingleThrough(h Handler, ctx context.Context, msg []byte, a *answer) {
	st := getCall()
	defer putCall(st)
	c := &st.call
	req := &c.reqv
	var err error
	if *req, err = wire.ParseRequest(msg); err != nil {
		ss.refused(RefusedInvalid)
		ss.sendError(a, nil, parseError(err))
		return
	}
	if req.Method == nil && req.IsResponse {
		ss.takeAnswer(msg)
		return
	}
	if e := checkRequest(req); e != nil {
		ss.refused(RefusedInvalid)
		ss.sendError(a, req.ID, e)
		return
	}
	if ss.isCancel(req) {
		ss.cancelRequest(req.Params)
		return
	}
	if req.ID != nil && !a.startSingle(ctx, req.ID) {
		return // the deadline passed before the call could start: answered -32002
	}
	reg := ss.register(ctx, req.ID)
	c.req, c.ps = req, &c.psv
	out, ok := ss.callThrough(h, ctx, st.buf[:0], c, 0)
	if reg != nil {
		ss.cancels.remove(req.ID, reg)
	}
	if ok {
		st.buf = out
		ok = ss.send(a, out)
	}
	if c.psv.notifiers != nil {
		c.psv.finish(ok)
	}
	ss.closeIfAsked() // the message is answered
}

// chain composes mws around the final handler, the first outermost; nil when there are none.
func chain(mws []Middleware) Handler {
	if len(mws) == 0 {
		return nil
	}
	h := Handler(final)
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// final is the innermost handler: it runs the call (or the batch) and reports its outcome.
func final(ctx context.Context, c *Call) Outcome {
	c.ran = true
	if c.kind == KindBatch {
		return Outcome{Size: c.ss.runBatch(ctx, c.b, c.a)}
	}
	out, ok, e := c.ss.runCall(ctx, c.buf, c.req, c.ps, c)
	c.buf, c.ok = out, ok
	o := Outcome{Err: e}
	if ok {
		o.Size = len(out) - c.start
	}
	return o
}

// callThrough runs the request c.req through the middlewares h, appending its answer to buf
// as call does; batch is the size of the batch it is in (0: none). c is the caller's.
func (ss *Session) callThrough(h Handler, ctx context.Context, buf []byte, c *Call, batch int) ([]byte, bool) {
	req := c.req
	c.ss, c.buf, c.start = ss, buf, len(buf)
	c.ID, c.ParamsSize, c.BatchSize, c.Conn = req.ID, len(req.Params), batch, &ss.info
	ss.resolve(c)
	c.kind = c.Kind
	o := h(ctx, c)
	out, ok := c.buf, c.ok
	if !c.ran {
		out, ok = buf, false
		e := o.Err
		if e == nil && o.Close == "" {
			e = errNoOutcome
		}
		if req.ID != nil && e != nil {
			out, ok = appendError(buf, req.ID, e), true
		}
	}
	if o.Close != "" {
		ss.askClose(o.Close)
	}
	return out, ok
}

var errNoOutcome = &Error{Code: CodeInternalError, Message: "internal error: a middleware refused the call without an error"}

// resolve fills in what a middleware sees of the call c.req, and what the final handler needs:
// the callback it names and the error the lookup found.
func (ss *Session) resolve(c *Call) {
	reg := &ss.srv.reg
	c.Kind, c.Method = KindCall, reg.other
	req := c.req
	raw := req.Method[1 : len(req.Method)-1]
	if isSubMethod(raw) && len(raw) <= ss.srv.cfg.maxMethodName {
		ns, unsub := subNamespace(raw)
		if unsub {
			c.Kind = KindUnsubscribe
			if m := reg.unsubs.Load(); m != nil && !hasEscape(raw) && ss.allowed(string(ns)) {
				if info := (*m)[string(ns)]; info != nil {
					c.Method = info
				}
			}
			return
		}
		c.Kind = KindSubscribe
		c.sub, c.cb, c.e = ss.resolveSub(req)
		if c.cb != nil {
			c.Method = c.cb.info
		}
		return
	}
	if req.ID == nil {
		c.Kind = KindNotification
	}
	c.cb, c.e = ss.lookup(req)
	if c.cb != nil {
		c.Method = c.cb.info
	}
}

// askClose records that a middleware asked to close the connection with reason, once the
// message being processed has been answered (see process).
func (ss *Session) askClose(reason string) {
	ss.closeAsked.CompareAndSwap(nil, &reason)
}

// CloseRequested reports whether the server is about to close the session once the message
// being handled has been answered, because a middleware asked for it ([Outcome].Close), and
// why: a request/response transport can tell its client with the answer (HTTP's Connection:
// close).
func (ss *Session) CloseRequested() (reason string, ok bool) {
	if r := ss.closeAsked.Load(); r != nil {
		return *r, true
	}
	return "", false
}

// closeIfAsked closes the session if a middleware asked for it.
func (ss *Session) closeIfAsked() {
	if r := ss.closeAsked.Load(); r != nil {
		ss.shut(*r, true)
	}
}

// batchThrough runs the batch b through the middlewares h as a whole; see runBatch.
func (ss *Session) batchThrough(h Handler, ctx context.Context, msg []byte, b *batch, a *answer) {
	st := getCall()
	defer putCall(st)
	c := &st.call
	c.ss, c.b, c.a = ss, b, a
	c.Kind, c.Method, c.ParamsSize, c.BatchSize, c.Conn = KindBatch, ss.srv.reg.batch, len(msg), len(b.items), &ss.info
	c.kind = KindBatch
	o := h(ctx, c)
	if !c.ran {
		e := o.Err
		if e == nil && o.Close == "" {
			e = errNoOutcome
		}
		if e != nil {
			ss.refuseBatch(a, b, e)
		}
	}
	if o.Close != "" {
		ss.askClose(o.Close)
	}
}

// refuseBatch answers batch b as a whole with e: one error in an array, with the id of the
// first valid call, as a batch over the item limit is answered.
func (ss *Session) refuseBatch(a *answer, b *batch, e *Error) {
	var id []byte
	for _, it := range b.items {
		if it.err == nil && it.req.ID != nil {
			id = it.req.ID
			break
		}
	}
	bp := getBuf()
	*bp = append(appendError(append((*bp)[:0], '['), id, e), ']')
	ss.send(a, *bp)
	putBuf(bp)
}
