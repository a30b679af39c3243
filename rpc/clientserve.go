package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// A client serves methods to its server (the server's calls to the client, see CallClient)
// with the server's own machinery: it holds a small Server, made on first use, with the
// methods registered on it, and one Session per connection (for a reconnecting client, per
// connection in turn) whose writer is that connection. An incoming request runs on one of that
// Server's workers, so that the read loop goes on reading (a method may call the server and
// wait for its answer); a request that finds every call slot taken waits for one at most
// clientSlotWait, and is then answered -32005, for the same reason. Close stops that Server,
// which waits for the methods still running.

// Register makes the client serve the exported methods of receiver to its server, as
// namespace_method, with the rules of [Server.Register]: the same shapes (a context first,
// (T, error) results), params by position and by name, panics recovered (-32603). The server
// calls them with CallClient; each runs on a goroutine of its own, with a context that ends
// when the connection closes (or when the server cancels the call). A method the client does
// not serve is answered -32601. It may be called at any time; calls that arrived before it
// found no method.
func (c *Client) Register(namespace string, receiver any, opts ...RegisterOption) error {
	srv := c.servingServer()
	if srv == nil {
		return ErrClosed
	}
	return srv.Register(namespace, receiver, opts...)
}

// ServeOther makes the client answer the server's calls of methods it does not serve
// (Register) with fn: method is the wire name, params the raw params (nil when absent); what
// fn returns is the result, or the error answered (an *[Error] keeps its code; a notification
// is not answered). A console, a proxy or a test that takes every call uses it; nil stops it.
func (c *Client) ServeOther(fn func(ctx context.Context, method string, params json.RawMessage) (any, error)) error {
	srv := c.servingServer()
	if srv == nil {
		return ErrClosed
	}
	var cb *callback
	if fn != nil {
		cbs, err := newCallbacks("other", otherService{fn}, &registration{})
		if err != nil {
			return err
		}
		cb = cbs[0]
		cb.rawParams = true
	}
	srv.other.Store(cb)
	return nil
}

// otherService is the method behind ServeOther.
type otherService struct {
	fn func(ctx context.Context, method string, params json.RawMessage) (any, error)
}

// Call runs fn with the method's name, which rawParams calls carry in their context.
func (o otherService) Call(ctx context.Context, params json.RawMessage) (any, error) {
	name, _ := ctx.Value(methodNameKey{}).(string)
	return o.fn(ctx, name, params)
}

// methodNameKey carries the wire name of a call to ServeOther's function.
type methodNameKey struct{}

// servingServer returns the server of the methods the client serves, made on first use; nil
// once the client has closed.
func (c *Client) servingServer() *Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && c.served == nil {
		return nil
	}
	if c.served == nil {
		c.served = NewServer(nil)
	}
	return c.served
}

// servingSession returns the session that serves the server's requests on cc (nil: the
// client's only connection), made on first use; nil once the client or cc has closed.
func (c *Client) servingSession(cc *clientConn) *Session {
	srv := c.servingServer()
	if srv == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	slot, send := &c.serving, c.send
	if cc != nil {
		if c.rc == nil || c.rc.cur != cc {
			return nil // lost meanwhile
		}
		slot, send = &cc.serving, cc.send
	}
	if c.err != nil || *slot != nil {
		return *slot
	}
	opts := ConnOptions{ConcurrentWrites: true} // the client's writer serialises
	ss, err := srv.NewSession(context.Background(), opts, writerFunc(func(msg []byte) error {
		return send(context.Background(), msg)
	}))
	if err != nil {
		return nil
	}
	*slot = ss
	return ss
}

// writerFunc is a MessageWriter that calls itself.
type writerFunc func(msg []byte) error

func (f writerFunc) WriteMessage(msg []byte) error { return f(msg) }

// serveRequest runs one request (or notification) the server sent on cc, b, on a worker of
// the serving server. b must stay unchanged until then unless the client copies what it
// receives (a Transport's receive, whose messages are valid only during the call).
func (c *Client) serveRequest(cc *clientConn, b []byte) {
	ss := c.servingSession(cc)
	if ss == nil {
		return
	}
	if c.roundTrip {
		b = bytes.Clone(b)
	}
	var stop <-chan struct{}
	if len(ss.sem) == cap(ss.sem) {
		// At its limit: wait a while, as the server waits for a slot before reading on (the
		// slots are often held by methods whose answers are out already), but not for good,
		// since the methods may wait for answers that only this read loop can read.
		ch := make(chan struct{})
		t := time.AfterFunc(clientSlotWait, func() { close(ch) })
		defer t.Stop()
		stop = ch
	}
	if !ss.acquireOr(stop) {
		if id := wire.HeadID(b); id != nil && ss.ctx.Err() == nil {
			ss.sendError(nil, id, errCallsBusy)
		}
		return
	}
	ss.srv.workers.run(func() {
		defer ss.release()
		ss.runOwn(b)
	})
}

// clientSlotWait bounds the wait of a request the server sent for one of the client's call
// slots.
const clientSlotWait = time.Second

var errCallsBusy = &Error{Code: CodeServerBusy, Message: "busy: too many calls in flight on this connection, retry later"}

// isSubNotification reports whether method (raw, quoted) is one a subscription's
// notifications use: they are delivered to the client's subscriptions, never served.
func isSubNotification(method []byte) bool {
	m := string(method)
	return strings.HasSuffix(m, `_subscription"`) || strings.HasSuffix(m, `_subscriptionLag"`) ||
		strings.HasSuffix(m, `_subscriptionPosition"`)
}

// closeServing closes the sessions serving the server's requests and stops the serving server,
// waiting for the methods still running; for Close.
func (c *Client) closeServing() {
	c.mu.Lock()
	srv := c.served
	c.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// endServing closes the session serving the server's requests on a connection that failed
// (ss may be nil): its methods' contexts end.
func endServing(ss *Session) {
	if ss != nil {
		ss.Close()
	}
}
