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
		ss.subs = subscriptions.NewConn(sessionSink{ss}, ss.srv.cfg.subLimits, ss.srv.pushBytes)
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
		k.ss.closeAsync("") // a broken connection; Close waits for this goroutine's return
	}
	return err
}

// Close closes the session because its client does not read its notifications.
func (k sessionSink) Close(reason error) {
	ss := k.ss
	ss.srv.cfg.log.Warn("rpc: closing a connection whose client does not read its notifications",
		"transport", ss.opts.Peer.Transport, "remote", ss.opts.Peer.RemoteAddr, "reason", reason)
	ss.closeAsync(reason.Error())
}

// closeAsync closes the session on a goroutine that the session's and the server's call
// counters track: the caller is a publisher, which must not wait, or the drain goroutine, which
// Close waits for.
func (ss *Session) closeAsync(reason string) {
	ss.calls.add()
	ss.srv.inflight.add()
	go func() {
		defer ss.srv.inflight.done()
		defer ss.calls.done()
		ss.closeWithReason(reason)
	}()
}

// callSub answers NS_subscribe and NS_unsubscribe, appending the response to buf. It reports
// false for a notification.
func (ss *Session) callSub(ctx context.Context, buf []byte, req *wire.Request, ps *pendingSubs) ([]byte, bool) {
	name := req.MethodName()
	var (
		result []byte
		e      *Error
	)
	if strings.HasSuffix(name, unsubscribeSuffix) {
		result, e = ss.unsubscribe(req.Params)
	} else {
		result, e = ss.subscribe(ctx, strings.TrimSuffix(name, subscribeSuffix), req.Params, ps)
	}
	if req.ID == nil {
		return buf, false
	}
	if e != nil {
		return appendError(buf, req.ID, e), true
	}
	buf = wire.AppendResultHead(buf, req.ID)
	buf = append(buf, result...)
	return append(buf, '}'), true
}

// subscribe runs the subscription method that params name and returns the quoted id.
func (ss *Session) subscribe(ctx context.Context, ns string, params []byte, ps *pendingSubs) ([]byte, *Error) {
	if ss.opts.NoSubscriptions {
		return nil, errNotificationsUnsupported // go-ethereum's answer over HTTP
	}
	if ss.srv.draining.Load() {
		return nil, errShuttingDown
	}
	subName, rest, e := splitSubParams(params)
	if e != nil {
		return nil, e
	}
	cb := ss.srv.reg.lookupSub(ns, subName)
	if cb == nil || !ss.allowed(ns) {
		return nil, &Error{Code: CodeMethodNotFound, Message: fmt.Sprintf("no %q subscription in %s namespace", subName, ns)}
	}
	conn := ss.subConn()
	if conn == nil {
		return nil, errShuttingDown
	}
	n, err := conn.Begin(ns)
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
	if in, e = cb.decodeArgs(rest, in); e != nil {
		return nil, e
	}
	res, e := ss.invoke(cb, in)
	if e != nil {
		return nil, e
	}
	sub, _ := res.Interface().(*subscriptions.Subscription)
	if !n.Owns(sub) {
		ss.srv.cfg.log.Error("rpc: a subscription method returned a subscription its notifier did not create", "method", cb.name, "subscription", subName)
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
