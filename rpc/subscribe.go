package rpc

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/polyrpc/polyrpc/internal/wire"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// Wire names of the subscription built-ins: NS_subscribe and NS_unsubscribe.
const (
	subscribeSuffix   = "_subscribe"
	unsubscribeSuffix = "_unsubscribe"
)

// subMember is the by-name member that names the subscription:
// {"subscription":"ticks","n":3}.
const subMember = "subscription"

var errSubNotFound = &Error{Code: CodeServerError, Message: "subscription not found"}

// isSubMethod reports whether the raw method name is NS_subscribe or NS_unsubscribe.
func isSubMethod(raw []byte) bool {
	return len(raw) > 0 && raw[len(raw)-1] == 'e' &&
		(bytes.HasSuffix(raw, []byte(subscribeSuffix)) || bytes.HasSuffix(raw, []byte(unsubscribeSuffix)))
}

// pendingSubs collects the subscribe calls of one message, to be finished once its answer has
// been written (delivery starts) or dropped (the subscriptions end).
type pendingSubs struct {
	conn      *subscriptions.Conn
	notifiers []*subscriptions.Notifier
}

func (ps *pendingSubs) finish(answered bool) {
	for _, n := range ps.notifiers {
		ps.conn.Finish(n, answered)
	}
	ps.notifiers = nil
}

// subConn returns the session's subscription state, creating it on first use (most connections
// never subscribe). It returns nil once the session is closed.
func (ss *Session) subConn() *subscriptions.Conn {
	ss.subsMu.Lock()
	defer ss.subsMu.Unlock()
	if ss.subs == nil && ss.ctx.Err() == nil {
		var sink subscriptions.Sink = sessionSink{ss}
		if ss.srv.cfg.hooks.watchesSubs() {
			sink = observedSink{sessionSink{ss}}
		}
		ss.subs = subscriptions.NewConn(sink, ss.srv.cfg.subLimits, ss.srv.pushBytes)
	}
	return ss.subs
}

// Subscriptions returns the number of the session's live subscriptions: a transport that
// keeps a response open for a subscription (HTTP's event streams) ends it at zero.
func (ss *Session) Subscriptions() int { return ss.subscriptionCount() }

// subscriptionCount returns the number of live subscriptions on the session.
func (ss *Session) subscriptionCount() int {
	ss.subsMu.Lock()
	c := ss.subs
	ss.subsMu.Unlock()
	if c == nil {
		return 0
	}
	return c.Len()
}

// closeSubs ends the session's subscriptions; the session's writer is closed already.
func (ss *Session) closeSubs() {
	ss.subsMu.Lock()
	c := ss.subs
	ss.subsMu.Unlock()
	if c == nil {
		return
	}
	reason := subscriptions.ErrConnClosed
	if ss.srv.isStopping() {
		reason = subscriptions.ErrServerStopped
	}
	c.Close(reason)
}

// sessionSink writes a session's notifications.
type sessionSink struct{ ss *Session }

var _ subscriptions.Sink = sessionSink{}

func (k sessionSink) Send(msgs [][]byte) error {
	err := k.ss.out.sendMany(msgs)
	if err != nil {
		// A broken connection; Close waits for this goroutine's return.
		k.ss.closeAsync("write failed: "+err.Error(), false)
	}
	return err
}

// Close closes the session because its client does not read its notifications.
func (k sessionSink) Close(reason error) {
	ss := k.ss
	ss.srv.cfg.log.Warn("rpc: closing a connection whose client does not read its notifications",
		"transport", ss.opts.Peer.Transport, "remote", ss.opts.Peer.RemoteAddr, "reason", reason)
	ss.closeAsync(reason.Error(), true)
}

// closeAsync closes the session (see shut) on a goroutine that the session's and the server's
// call counters track: the caller is a publisher, which must not wait, or the drain goroutine,
// which Close waits for.
func (ss *Session) closeAsync(reason string, tell bool) {
	ss.calls.add()
	ss.srv.inflight.add()
	go func() {
		defer ss.srv.inflight.done()
		defer ss.calls.done()
		ss.shut(reason, tell)
	}()
}

// subNamespace returns the namespace of the raw method name NS_subscribe or NS_unsubscribe,
// and whether it is NS_unsubscribe.
func subNamespace(raw []byte) ([]byte, bool) {
	if bytes.HasSuffix(raw, []byte(unsubscribeSuffix)) {
		return raw[:len(raw)-len(unsubscribeSuffix)], true
	}
	return raw[:len(raw)-len(subscribeSuffix)], false
}

// callSub answers NS_subscribe and NS_unsubscribe, appending the response to buf. It reports
// false for a notification, and the error answered. c, when not nil, is the call as resolve
// found it.
func (ss *Session) callSub(ctx context.Context, buf []byte, req *wire.Request, ps *pendingSubs, c *Call) ([]byte, bool, *Error) {
	var (
		result []byte
		e      *Error
	)
	unsub := false
	if c != nil {
		unsub = c.kind == KindUnsubscribe
	} else {
		_, unsub = subNamespace(req.Method[1 : len(req.Method)-1])
	}
	if unsub {
		result, e = ss.unsubscribe(req.Params)
	} else {
		var (
			sc subCall
			cb *callback
		)
		if c != nil {
			sc, cb, e = c.sub, c.cb, c.e
		} else {
			sc, cb, e = ss.resolveSub(req)
		}
		if e == nil {
			result, e = ss.subscribe(ctx, sc, cb, ps)
		}
	}
	if req.ID == nil {
		return buf, false, e
	}
	if e != nil {
		return appendError(buf, req.ID, e), true, e
	}
	buf = wire.AppendResultHead(buf, req.ID)
	buf = append(buf, result...)
	return append(buf, '}'), true, nil
}

// resolveSub finds the subscription an NS_subscribe request names. It returns its parts, its
// callback (nil when there is none) and the error to answer instead of running it.
func (ss *Session) resolveSub(req *wire.Request) (subCall, *callback, *Error) {
	if ss.opts.NoSubscriptions {
		return subCall{}, nil, errNotificationsUnsupported // go-ethereum's answer over HTTP
	}
	if ss.srv.draining.Load() {
		return subCall{}, nil, errShuttingDown
	}
	ns := strings.TrimSuffix(req.MethodName(), subscribeSuffix)
	subName, rest, e := splitSubParams(req.Params)
	if e != nil {
		return subCall{}, nil, e
	}
	sc := subCall{ns: ns, name: subName, rest: rest}
	cb := ss.srv.reg.lookupSub(ns, subName)
	if cb == nil || !ss.allowed(ns) {
		return sc, nil, &Error{Code: CodeMethodNotFound, Message: fmt.Sprintf("no %q subscription in %s namespace", subName, ns)}
	}
	return sc, cb, nil
}

// subscribe runs the subscription method cb (sc names it) and returns the quoted id.
func (ss *Session) subscribe(ctx context.Context, sc subCall, cb *callback, ps *pendingSubs) ([]byte, *Error) {
	if !ss.permits(cb) {
		return nil, cb.denied
	}
	if e := ss.cancelled(ctx); e != nil {
		return nil, e
	}
	conn := ss.subConn()
	if conn == nil {
		return nil, errShuttingDown
	}
	n, err := conn.BeginTagged(sc.ns, cb.info)
	if err == subscriptions.ErrTooManySubscriptions {
		return nil, &Error{Code: CodeServerBusy, Message: fmt.Sprintf("too many subscriptions on this connection (limit %d)", ss.srv.cfg.subLimits.MaxSubscriptions)}
	}
	if err != nil {
		return nil, &Error{Code: CodeServerError, Message: err.Error()}
	}
	if ps.conn == nil {
		ps.conn = conn
	}
	ps.notifiers = append(ps.notifiers, n)
	in := make([]reflect.Value, 0, 2+len(cb.args))
	in = append(in, cb.rcvr, reflect.ValueOf(subscriptions.NewContext(ctx, n)))
	in, e := cb.decodeArgs(sc.rest, in)
	if e != nil {
		return nil, e
	}
	res, e := ss.invoke(cb, in)
	if e != nil {
		return nil, e
	}
	sub, _ := res.Interface().(*subscriptions.Subscription)
	if !n.Owns(sub) {
		ss.srv.cfg.log.Error("rpc: a subscription method returned a subscription its notifier did not create", "method", cb.name, "subscription", sc.name)
		return nil, &Error{Code: CodeInternalError, Message: "the subscription method returned no subscription of its own"}
	}
	return wire.AppendString(nil, string(sub.ID)), nil
}

// unsubscribe ends one of the connection's subscriptions. Like go-ethereum, it goes by id
// alone, whatever the namespace.
func (ss *Session) unsubscribe(params []byte) ([]byte, *Error) {
	id, e := unsubscribeID(params)
	if e != nil {
		return nil, e
	}
	ss.subsMu.Lock()
	conn := ss.subs
	ss.subsMu.Unlock()
	if conn == nil || !conn.Unsubscribe(subscriptions.ID(id)) {
		return nil, errSubNotFound
	}
	return []byte("true"), nil
}

var errNoSubName = invalidParams("expected subscription name as first argument")

// splitSubParams takes the subscription name out of NS_subscribe's params and returns the
// method's own params: ["ticks",3,1] → "ticks", [3,1]; {"subscription":"ticks","n":3} →
// "ticks", {"n":3}.
func splitSubParams(params []byte) (string, []byte, *Error) {
	if len(params) == 0 {
		return "", nil, errNoSubName
	}
	if params[0] == '[' {
		var first []byte
		firstEnd := -1
		wire.Array(params, 0, func(s, e int) error {
			if first == nil {
				first, firstEnd = params[s:e], e
			}
			return nil
		})
		name, ok := wire.Unquote(first, bytes.IndexByte(first, '\\') >= 0)
		if !ok {
			return "", nil, errNoSubName
		}
		j := wire.SkipSpace(params, firstEnd)
		if params[j] == ']' {
			return name, nil, nil
		}
		rest := append([]byte{'['}, params[j+1:]...) // after the comma
		return name, rest, nil
	}
	var name string
	found := false
	rest := []byte{'{'}
	wire.Object(params, 0, func(key []byte, esc bool, s, e int) error {
		if wire.KeyIs(key, esc, subMember) && !found {
			name, found = wire.Unquote(params[s:e], bytes.IndexByte(params[s:e], '\\') >= 0)
			if !found {
				name, found = "", true
			}
			return nil
		}
		if len(rest) > 1 {
			rest = append(rest, ',')
		}
		rest = append(rest, key...)
		rest = append(rest, ':')
		rest = append(rest, params[s:e]...)
		return nil
	})
	if name == "" {
		return "", nil, invalidParams("expected the subscription name in the %q member", subMember)
	}
	return name, append(rest, '}'), nil
}

// unsubscribeID reads NS_unsubscribe's params: ["0x…"] or {"id":"0x…"}.
func unsubscribeID(params []byte) (string, *Error) {
	var raw []byte
	n := 0
	switch {
	case len(params) == 0:
	case params[0] == '[':
		wire.Array(params, 0, func(s, e int) error {
			if n == 0 {
				raw = params[s:e]
			}
			n++
			return nil
		})
	default:
		wire.Object(params, 0, func(key []byte, esc bool, s, e int) error {
			if wire.KeyIs(key, esc, "id") {
				raw = params[s:e]
			}
			n++
			return nil
		})
	}
	id, ok := wire.Unquote(raw, bytes.IndexByte(raw, '\\') >= 0)
	if !ok || n != 1 {
		return "", invalidParams("expected one argument, the subscription id (a string)")
	}
	return id, nil
}
