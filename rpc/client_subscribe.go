package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// ClientBufferLimit is how many notifications a [ClientSubscription] holds for a consumer that
// has not taken them from its channel yet (go-ethereum's client uses the same bound). When it
// is exceeded the subscription ends with [ErrSubscriptionQueueOverflow] rather than block the
// connection's other calls and subscriptions.
const ClientBufferLimit = 20000

// ErrSubscriptionQueueOverflow ends a client subscription whose consumer fell more than
// ClientBufferLimit notifications behind. The client unsubscribes it on the server.
var ErrSubscriptionQueueOverflow = errors.New("rpc: subscription queue overflow: the channel's reader fell too far behind")

// unsubscribeTimeout bounds the unsubscribe call of ClientSubscription.Unsubscribe.
const unsubscribeTimeout = 10 * time.Second

// ClientSubscription is a subscription made with [Client.Subscribe]. Its notifications arrive,
// decoded, on the channel given to Subscribe, in the order the server sent them.
type ClientSubscription struct {
	c         *Client
	namespace string
	args      []any         // the subscribe call's arguments, to subscribe again after a reconnect
	ch        reflect.Value // the caller's channel
	elem      reflect.Type

	// Guarded by c.mu: the server's id of the subscription and, on a reconnecting client, the
	// connection it was made on (the id means nothing on another).
	id string
	cc *clientConn

	mu       sync.Mutex
	queue    []clientNote // notifications and position changes not yet delivered
	wake     chan struct{}
	ended    bool
	endErr   error
	quit     chan struct{} // closed when the subscription ends
	err      chan error    // the end reason, then closed
	lag      chan uint64
	gaps     chan *GapError
	done     chan struct{} // closed when the forwarding goroutine has returned
	unsubbed sync.Once
	pos      positions // client_position.go
}

// Subscribe calls namespace_subscribe with args, the first of which is the subscription's
// name (["ticks", 3, 1] subscribes to the "ticks" subscription with arguments 3 and 1), and
// delivers each notification decoded into channel, which must be a channel (of any element
// type the results decode into) that the caller reads. It returns once the server has answered.
//
// Position notices of a subscription backed by a subscriptions.Feed are tracked
// ([ClientSubscription.Position], [ClientSubscription.Gaps]); a reconnecting client subscribes
// again with args and the last position after a reconnect (see [NewReconnectingClient]), so it
// keeps args.
//
// Over HTTP the server refuses with -32601 "notifications not supported".
func (c *Client) Subscribe(ctx context.Context, namespace string, channel any, args ...any) (*ClientSubscription, error) {
	ch := reflect.ValueOf(channel)
	if ch.Kind() != reflect.Chan || ch.Type().ChanDir()&reflect.SendDir == 0 {
		return nil, fmt.Errorf("rpc: Subscribe needs a channel it can send to, got %T", channel)
	}
	if ch.IsNil() {
		return nil, errors.New("rpc: Subscribe: the channel is nil")
	}
	if len(args) == 0 {
		return nil, errors.New("rpc: Subscribe: the first argument must be the subscription name")
	}
	cs := &ClientSubscription{
		c: c, namespace: namespace, args: append([]any(nil), args...), ch: ch, elem: ch.Type().Elem(),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), err: make(chan error, 1),
		lag: make(chan uint64, 1), gaps: make(chan *GapError, 1), done: make(chan struct{}),
	}
	pc := &pendingCall{done: make(chan struct{}), sub: cs}
	if err := c.callPending(ctx, pc, namespace+subscribeSuffix, args, nil); err != nil {
		return nil, err
	}
	return cs, nil
}

// answerSubscribe takes the answer to a subscribe call (pc.mu held).
func (pc *pendingCall) answerSubscribe(r response) {
	cs := pc.sub
	var id string
	if pc.finished {
		// The caller stopped waiting: nobody will read this subscription.
		if decodeResult(r, &id) == nil && id != "" {
			cs.c.unsubscribeLater(cs.namespace, id, pc.cc)
		}
		return
	}
	err := decodeResult(r, &id)
	switch {
	case err != nil:
	case pc.resub:
		if !cs.c.resubscribed(cs, id, pc.cc) {
			cs.c.unsubscribeLater(cs.namespace, id, pc.cc) // it ended meanwhile
			err = ErrClosed
		}
	case !cs.c.subscribed(cs, id, pc.cc):
		err = ErrClosed
	}
	pc.finishLocked(err)
}

// subscribed runs on the read loop when the subscribe call is answered with id: notifications
// that follow it find the subscription. It reports false if the client has stopped.
func (c *Client) subscribed(cs *ClientSubscription, id string, cc *clientConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false
	}
	if c.subs == nil {
		c.subs = make(map[string]*ClientSubscription)
	}
	cs.id, cs.cc = id, cc
	c.subs[id] = cs
	c.subsWG.Add(1)
	go cs.forward()
	return true
}

// ID returns the subscription's id, as the server chose it. A reconnecting client's
// subscription gets a new id each time it is subscribed again.
func (cs *ClientSubscription) ID() string {
	cs.c.mu.Lock()
	defer cs.c.mu.Unlock()
	return cs.id
}

// Err returns a channel that receives the reason the subscription failed (the connection
// closed, ErrSubscriptionQueueOverflow, or on a reconnecting client the server's refusal to
// subscribe it again) and is then closed. After Unsubscribe it is closed without a value.
// Notifications lost while the subscription goes on are reported on [ClientSubscription.Gaps].
func (cs *ClientSubscription) Err() <-chan error { return cs.err }

// Lagged returns a channel that reports notifications the server dropped because this client
// did not read fast enough (see the subscriptions package's drop policies). Each value is the
// number dropped since the last value was taken; the channel never blocks the subscription.
func (cs *ClientSubscription) Lagged() <-chan uint64 { return cs.lag }

// Unsubscribe ends the subscription: the server is asked to stop it (waiting at most 10 s) and
// no value is sent on the channel after Unsubscribe returns. It is safe to call many times.
//
// On a reconnecting client whose connection is down, the server has forgotten the subscription
// already and Unsubscribe does not wait for a reconnect.
func (cs *ClientSubscription) Unsubscribe() {
	cs.unsubbed.Do(func() {
		if id, cc := cs.end(nil); id != "" {
			ctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
			cs.c.callOn(ctx, cc, cs.namespace+unsubscribeSuffix, id)
			cancel()
		}
	})
	<-cs.done
}

// end stops the subscription with err (nil for Unsubscribe). Unless it had ended, it returns
// the server's id of the subscription and the connection it lives on, for an unsubscribe call;
// id is "" when the server does not have it (the subscription had ended, or it waits for a
// reconnect).
func (cs *ClientSubscription) end(err error) (id string, cc *clientConn) {
	cs.mu.Lock()
	if cs.ended {
		cs.mu.Unlock()
		return "", nil
	}
	cs.ended, cs.endErr, cs.queue = true, err, nil
	close(cs.quit)
	cs.mu.Unlock()
	c := cs.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rc != nil {
		delete(c.rc.suspended, cs)
	}
	if c.subs[cs.id] != cs {
		return "", nil
	}
	delete(c.subs, cs.id)
	return cs.id, cs.cc
}

// forward delivers queued notifications to the caller's channel until the subscription ends.
func (cs *ClientSubscription) forward() {
	defer cs.c.subsWG.Done()
	defer close(cs.done)
	defer func() {
		if cs.endErr != nil {
			cs.err <- cs.endErr
		}
		close(cs.err)
	}()
	quit := reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(cs.quit)}
	for {
		cs.mu.Lock()
		for len(cs.queue) == 0 && !cs.ended {
			cs.mu.Unlock()
			select {
			case <-cs.wake:
			case <-cs.quit:
			}
			cs.mu.Lock()
		}
		if cs.ended {
			cs.mu.Unlock()
			return
		}
		n := cs.queue[0]
		cs.queue[0] = clientNote{}
		cs.queue = cs.queue[1:]
		cs.mu.Unlock()
		if n.raw == nil { // a position notice
			cs.passed(n)
			continue
		}
		v := reflect.New(cs.elem)
		if err := json.Unmarshal(n.raw, v.Interface()); err != nil {
			cs.fail(fmt.Errorf("rpc: subscription %s: cannot decode a notification into %s: %w", cs.ID(), cs.elem, err))
			continue
		}
		send := reflect.SelectCase{Dir: reflect.SelectSend, Chan: cs.ch, Send: v.Elem()}
		if chosen, _, _ := reflect.Select([]reflect.SelectCase{send, quit}); chosen == 0 {
			cs.passed(n)
		}
	}
}

// fail ends the subscription with err and tells the server to drop it.
func (cs *ClientSubscription) fail(err error) {
	if id, cc := cs.end(err); id != "" {
		cs.c.unsubscribeLater(cs.namespace, id, cc)
	}
}

// enqueue adds n to the notifications waiting for the channel; it runs on the read loop.
func (cs *ClientSubscription) enqueue(n clientNote) {
	cs.mu.Lock()
	if cs.ended {
		cs.mu.Unlock()
		return
	}
	if len(cs.queue) >= ClientBufferLimit {
		cs.mu.Unlock()
		cs.fail(ErrSubscriptionQueueOverflow)
		return
	}
	cs.queue = append(cs.queue, n)
	cs.mu.Unlock()
	select {
	case cs.wake <- struct{}{}:
	default:
	}
}

// lagged adds n to the dropped count waiting on the Lagged channel.
func (cs *ClientSubscription) lagged(n uint64) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	select {
	case old := <-cs.lag:
		n += old
	default:
	}
	cs.lag <- n
}

// unsubscribeLater tells the server to drop its subscription id (of namespace, made on the
// connection cc of a reconnecting client) that the client gave up on, without holding up the
// read loop. The client's subscription WaitGroup owns the goroutine.
func (c *Client) unsubscribeLater(namespace, id string, cc *clientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.rc != nil && c.rc.cur != cc {
		return // the connection is gone, and the server's subscription with it
	}
	c.subsWG.Add(1)
	go func() {
		defer c.subsWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
		defer cancel()
		go func() {
			select {
			case <-c.closed:
				cancel()
			case <-ctx.Done():
			}
		}()
		c.callOn(ctx, cc, namespace+unsubscribeSuffix, id)
	}()
}

// callOn calls method with args on the connection cc of a reconnecting client (failing if it
// is no longer the client's connection), or on any other client's connection (cc nil).
func (c *Client) callOn(ctx context.Context, cc *clientConn, method string, args ...any) error {
	return c.callPending(ctx, &pendingCall{done: make(chan struct{}), cc: cc}, method, args, nil)
}

// notification handles a server notification: NS_subscription, NS_subscriptionLag or
// NS_subscriptionPosition.
func (c *Client) notification(method, params []byte) {
	name, _ := wire.Unquote(method, false)
	lag := strings.HasSuffix(name, "_subscriptionLag")
	pos := strings.HasSuffix(name, "_subscriptionPosition")
	if !lag && !pos && !strings.HasSuffix(name, "_subscription") {
		return
	}
	var id, result, dropped, offset, epoch, recovered []byte
	wire.Object(params, 0, func(key []byte, esc bool, s, e int) error {
		switch {
		case wire.KeyIs(key, esc, "subscription"):
			id = params[s:e]
		case wire.KeyIs(key, esc, "result"):
			result = params[s:e]
		case wire.KeyIs(key, esc, "dropped"):
			dropped = params[s:e]
		case wire.KeyIs(key, esc, "offset"):
			offset = params[s:e]
		case wire.KeyIs(key, esc, "epoch"):
			epoch = params[s:e]
		case wire.KeyIs(key, esc, "recovered"):
			recovered = params[s:e]
		}
		return nil
	})
	sid, ok := wire.Unquote(id, false)
	if !ok {
		return
	}
	c.mu.Lock()
	cs := c.subs[sid]
	c.mu.Unlock()
	switch {
	case cs == nil:
	case lag:
		if n, ok := parseUint(dropped); ok {
			cs.lagged(n)
		}
	case pos:
		off, okOff := parseUint(offset)
		ep, okEpoch := wire.Unquote(epoch, hasEscape(epoch))
		if okOff && okEpoch {
			cs.positioned(ep, off, string(recovered) == "true")
		}
	case result != nil:
		off, _ := parseUint(offset)
		cs.deliver(result, off)
	}
}

// failSubs ends every subscription with err; the client has stopped.
func (c *Client) failSubs(err error) {
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	var waiting map[*ClientSubscription]struct{}
	if c.rc != nil {
		waiting, c.rc.suspended = c.rc.suspended, nil
	}
	c.mu.Unlock()
	for _, cs := range subs {
		cs.end(err)
	}
	for cs := range waiting {
		cs.end(err)
	}
}
