package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"sync"

	"github.com/polyrpc/polyrpc/internal/wire"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledBuf is the largest buffer bufPool keeps: large enough for the answer to a call
// with a 64 KiB document, so that a connection answering such calls one after another reuses
// one buffer rather than allocating each answer (and giving the GC that much more to do).
const maxPooledBuf = 128 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

func parseError(err error) *Error {
	return &Error{Code: CodeParseError, Message: "parse error: " + err.Error()}
}

// process answers one incoming message. a is nil when no timeout can race with the answer.
func (ss *Session) process(ctx context.Context, msg []byte, a *answer) {
	if len(msg) > ss.srv.cfg.maxMessage {
		// Refused unparsed, with the id if the part of msg within the limit shows it (as a
		// stream connection, which reads no further, would answer it).
		ss.refused(RefusedMessageTooLarge)
		ss.sendError(a, wire.HeadID(msg[:ss.srv.cfg.maxMessage]), ss.srv.errTooLarge())
		return
	}
	i := wire.SkipSpace(msg, 0)
	if i == len(msg) {
		ss.refused(RefusedInvalid)
		ss.sendError(a, nil, parseError(wire.ErrUnexpectedEnd))
		return
	}
	switch msg[i] {
	case '{':
		ss.processSingle(ctx, msg[i:], a)
	case '[':
		ss.processBatch(ctx, msg[i:], a)
	default:
		ss.refused(RefusedInvalid)
		if err := wire.Validate(msg); err != nil {
			ss.sendError(a, nil, parseError(err))
		} else {
			ss.sendError(a, nil, invalidRequest("invalid request: not an object or array"))
		}
	}
}

func (ss *Session) sendError(a *answer, id []byte, e *Error) {
	bp := getBuf()
	*bp = appendError(*bp, id, e)
	ss.send(a, *bp)
	putBuf(bp)
}

func (ss *Session) processSingle(ctx context.Context, msg []byte, a *answer) {
	if h := ss.srv.cfg.handler; h != nil {
		ss.processSingleThrough(h, ctx, msg, a)
		return
	}
	req, err := wire.ParseRequest(msg)
	if err != nil {
		ss.refused(RefusedInvalid)
		ss.sendError(a, nil, parseError(err))
		return
	}
	if req.Method == nil && req.IsResponse {
		ss.takeAnswer(msg) // not a request: never answered (see callclient.go)
		return
	}
	if e := checkRequest(&req); e != nil {
		ss.refused(RefusedInvalid)
		ss.sendError(a, req.ID, e)
		return
	}
	if req.ID != nil && !a.startSingle(ctx, req.ID) {
		return // the deadline passed before the call could start: answered -32002
	}
	reg := ss.register(ctx, req.ID)
	bp := getBuf()
	var ps pendingSubs
	out, ok := ss.call(ctx, *bp, &req, &ps)
	if reg != nil {
		ss.cancels.remove(req.ID, reg)
	}
	if ok {
		*bp = out
		ok = ss.send(a, out)
	}
	if ps.notifiers != nil {
		ps.finish(ok)
	}
	putBuf(bp)
}

// call runs one valid request, without middlewares, and appends its response to buf. It
// reports false for a notification, which has no response. Subscribe calls are added to ps, to
// be finished once the answer has been written. It handles the cancel notification.
func (ss *Session) call(ctx context.Context, buf []byte, req *wire.Request, ps *pendingSubs) ([]byte, bool) {
	out, ok, _ := ss.runCall(ctx, buf, req, ps, nil)
	return out, ok
}

// runCall runs one valid request and appends its response to buf, as call does, and also
// returns the error it answered (nil on success). c, when not nil, is the call as resolve
// found it (the middlewares' path); otherwise the method is looked up here, and the cancel
// notification handled.
func (ss *Session) runCall(ctx context.Context, buf []byte, req *wire.Request, ps *pendingSubs, c *Call) ([]byte, bool, *Error) {
	var (
		cb *callback
		e  *Error
	)
	if c != nil {
		if c.kind == KindSubscribe || c.kind == KindUnsubscribe {
			return ss.callSub(ctx, buf, req, ps, c)
		}
		cb, e = c.cb, c.e
	} else {
		if ss.isCancel(req) {
			ss.cancelRequest(req.Params)
			return buf, false, nil
		}
		if raw := req.Method[1 : len(req.Method)-1]; isSubMethod(raw) && len(raw) <= ss.srv.cfg.maxMethodName {
			return ss.callSub(ctx, buf, req, ps, nil)
		}
		cb, e = ss.lookup(req)
	}
	if e == nil && cb.perm != "" && !ss.permits(cb) {
		e = cb.denied // checked before the params are decoded
	}
	if e == nil && cb.stream != nil {
		return ss.openStream(ctx, buf, req, cb)
	}
	var res reflect.Value
	if e == nil {
		var arr [6]reflect.Value // the common case: no allocation for the arguments
		in := arr[:0]
		if n := 2 + len(cb.args); n > len(arr) {
			in = make([]reflect.Value, 0, n)
		}
		in = append(in, cb.rcvr)
		if cb.hasCtx {
			in = append(in, reflect.ValueOf(ctx))
		}
		if cb.rawParams {
			in[1] = reflect.ValueOf(context.WithValue(ctx, methodNameKey{}, req.MethodName()))
			in = append(in, reflect.ValueOf(json.RawMessage(req.Params)))
		} else {
			in, e = cb.decodeArgs(req.Params, in)
		}
		if e == nil {
			res, e = ss.invoke(cb, in)
			if e != nil && ctx.Err() == context.DeadlineExceeded {
				e = errTimeout // the method gave up because of the call timeout
			}
			if ce := ss.cancelled(ctx); ce != nil {
				res, e = reflect.Value{}, ce // cancelled before it could be answered
			}
		}
	}
	if req.ID == nil {
		return buf, false, e
	}
	if e != nil {
		return appendError(buf, req.ID, e), true, e
	}
	mark := len(buf)
	buf = wire.AppendResultHead(buf, req.ID)
	if !res.IsValid() {
		buf = append(buf, "null"...)
	} else {
		var err error
		if buf, err = appendValue(buf, res, cb.resultKind); err != nil {
			e = &Error{Code: CodeInternalError, Message: err.Error()}
			return appendError(buf[:mark], req.ID, e), true, e
		}
	}
	return append(buf, '}'), true, nil
}

// lookup finds the method a request names, if this connection may call it. While the server
// is draining it returns the method with the error to answer.
func (ss *Session) lookup(req *wire.Request) (*callback, *Error) {
	raw := req.Method[1 : len(req.Method)-1]
	if n := ss.srv.cfg.maxMethodName; len(raw) > n {
		return nil, invalidRequest("method name too long: " + strconv.Itoa(len(raw)) + " > " + strconv.Itoa(n))
	}
	var cb *callback
	if m := ss.srv.reg.methods.Load(); m != nil {
		if req.Method != nil && !hasEscape(raw) {
			cb = (*m)[string(raw)]
		} else {
			cb = (*m)[req.MethodName()]
		}
	}
	if cb == nil {
		if o := ss.srv.other.Load(); o != nil {
			return o, nil // Client.ServeOther
		}
	}
	if cb == nil && ss.opts.NoSubscriptions && bytes.HasSuffix(raw, []byte("_subscribe")) {
		return nil, errNotificationsUnsupported // go-ethereum's answer to a subscription over HTTP
	}
	if cb == nil || !ss.allowed(cb.namespace) {
		return nil, &Error{Code: CodeMethodNotFound, Message: fmt.Sprintf("the method %s does not exist/is not available", req.MethodName())}
	}
	if ss.srv.draining.Load() {
		return cb, errShuttingDown
	}
	return cb, nil
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// invoke calls the method, turning a panic into -32603 and a returned error into its wire form.
// in holds the receiver, the context if the method takes one, and the arguments.
func (ss *Session) invoke(cb *callback, in []reflect.Value) (res reflect.Value, e *Error) {
	defer func() {
		if p := recover(); p != nil {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			ss.srv.cfg.log.Error("rpc: method panicked", "method", cb.name, "panic", fmt.Sprint(p), "stack", string(buf))
			res, e = reflect.Value{}, errPanic
		}
	}()
	if cb.invoker != nil {
		return cb.invokeDirect(in)
	}
	out := cb.fn.Call(in)
	if cb.errIndex >= 0 {
		if err, _ := out[cb.errIndex].Interface().(error); err != nil {
			return reflect.Value{}, errorObject(err)
		}
	}
	if cb.hasResult {
		return out[0], nil
	}
	return reflect.Value{}, nil
}

// invokeDirect calls the method through its generated invoker (MethodMetadata.Invoke) with
// the values of in, laid out for reflect.Value.Call: receiver, then context, then arguments.
func (cb *callback) invokeDirect(in []reflect.Value) (reflect.Value, *Error) {
	var ctx context.Context
	args := in[1:]
	if cb.hasCtx {
		ctx, _ = in[1].Interface().(context.Context)
		args = in[2:]
	}
	var ptrs []any
	if len(args) > 0 {
		ptrs = make([]any, len(args))
		for i, v := range args {
			if !v.CanAddr() { // an absent optional argument: a zero value
				p := reflect.New(v.Type())
				p.Elem().Set(v)
				v = p.Elem()
			}
			ptrs[i] = v.Addr().Interface()
		}
	}
	res, err := cb.invoker(cb.rcvrPtr, ctx, ptrs)
	if err != nil {
		return reflect.Value{}, errorObject(err)
	}
	if !cb.hasResult || res == nil {
		return reflect.Value{}, nil
	}
	return reflect.ValueOf(res), nil
}
