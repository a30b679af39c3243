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
	id        string
	ch        reflect.Value // the caller's channel
	elem      reflect.Type

	mu       sync.Mutex
	queue    [][]byte // raw results not yet delivered
	wake     chan struct{}
	ended    bool
	endErr   error
	quit     chan struct{} // closed when the subscription ends
	err      chan error    // the end reason, then closed
	lag      chan uint64
	done     chan struct{} // closed when the forwarding goroutine has returned
	unsubbed sync.Once
}

// Subscribe calls namespace_subscribe with args, the first of which is the subscription's
// name (["ticks", 3, 1] subscribes to the "ticks" subscription with arguments 3 and 1), and
// delivers each notification decoded into channel, which must be a channel (of any element
// type the results decode into) that the caller reads. It returns once the server has answered.
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
		c: c, namespace: namespace, ch: ch, elem: ch.Type().Elem(),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), err: make(chan error, 1),
		lag: make(chan uint64, 1), done: make(chan struct{}),
	}
	var id string
	pc := &pendingCall{result: &id, done: make(chan struct{}), sub: cs}
	if err := c.callPending(ctx, pc, namespace+subscribeSuffix, args, nil); err != nil {
		return nil, err
	}
	return cs, nil
}

// answerSubscribe takes the answer to a subscribe call (pc.mu held).
func (pc *pendingCall) answerSubscribe(r response) {
	cs := pc.sub
	if pc.finished {
		// The caller stopped waiting: nobody will read this subscription.
		var id string
		if decodeResult(r, &id) == nil && id != "" {
			cs.id = id
			cs.c.unsubscribeLater(cs)
		}
		return
	}
	err := decodeResult(r, pc.result)
	if err == nil && !cs.c.subscribed(cs, *pc.result.(*string)) {
		err = ErrClosed
	}
	pc.finishLocked(err)
}

// subscribed runs on the read loop when the subscribe call is answered with id: notifications
// that follow it find the subscription. It reports false if the client has stopped.
func (c *Client) subscribed(cs *ClientSubscription, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false
	}
	if c.subs == nil {
		c.subs = make(map[string]*ClientSubscription)
	}
	cs.id = id
	c.subs[id] = cs
	c.subsWG.Add(1)
	go cs.forward()
	return true
}

// ID returns the subscription's id, as the server chose it.
func (cs *ClientSubscription) ID() string { return cs.id }

// Err returns a channel that receives the reason the subscription failed (the connection
// closed, ErrSubscriptionQueueOverflow) and is then closed. After Unsubscribe it is closed
// without a value.
func (cs *ClientSubscription) Err() <-chan error { return cs.err }

// Lagged returns a channel that reports notifications the server dropped because this client
// did not read fast enough (see the subscriptions package's drop policies). Each value is the
// number dropped since the last value was taken; the channel never blocks the subscription.
func (cs *ClientSubscription) Lagged() <-chan uint64 { return cs.lag }

// Unsubscribe ends the subscription: the server is asked to stop it (waiting at most 10 s) and
// no value is sent on the channel after Unsubscribe returns. It is safe to call many times.
func (cs *ClientSubscription) Unsubscribe() {
	cs.unsubbed.Do(func() {
		if cs.end(nil) {
			ctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
			cs.c.Call(ctx, nil, cs.namespace+unsubscribeSuffix, cs.id)
			cancel()
		}
	})
	<-cs.done
}

// end stops the subscription with err (nil for Unsubscribe); it reports false if it had ended.
func (cs *ClientSubscription) end(err error) bool {
	cs.mu.Lock()
	if cs.ended {
		cs.mu.Unlock()
		return false
	}
	cs.ended, cs.endErr, cs.queue = true, err, nil
	close(cs.quit)
	cs.mu.Unlock()
	c := cs.c
	c.mu.Lock()
	if c.subs[cs.id] == cs {
		delete(c.subs, cs.id)
	}
	c.mu.Unlock()
	return true
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
		raw := cs.queue[0]
		cs.queue[0] = nil
		cs.queue = cs.queue[1:]
		cs.mu.Unlock()
		v := reflect.New(cs.elem)
		if err := json.Unmarshal(raw, v.Interface()); err != nil {
			cs.end(fmt.Errorf("rpc: subscription %s: cannot decode a notification into %s: %w", cs.id, cs.elem, err))
			cs.c.unsubscribeLater(cs)
			continue
		}
		send := reflect.SelectCase{Dir: reflect.SelectSend, Chan: cs.ch, Send: v.Elem()}
		reflect.Select([]reflect.SelectCase{send, quit})
	}
}

// deliver queues one notification's raw result (copied); it runs on the read loop.
func (cs *ClientSubscription) deliver(raw []byte) {
	cs.mu.Lock()
	if cs.ended {
		cs.mu.Unlock()
		return
	}
	if len(cs.queue) >= ClientBufferLimit {
		cs.mu.Unlock()
		cs.end(ErrSubscriptionQueueOverflow)
		cs.c.unsubscribeLater(cs)
		return
	}
	cs.queue = append(cs.queue, append([]byte(nil), raw...))
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

// unsubscribeLater tells the server to drop a subscription the client gave up on, without
// holding up the read loop. The client's subscription WaitGroup owns the goroutine.
func (c *Client) unsubscribeLater(cs *ClientSubscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
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
		c.Call(ctx, nil, cs.namespace+unsubscribeSuffix, cs.id)
	}()
}

// notification handles a server notification: NS_subscription or NS_subscriptionLag.
func (c *Client) notification(method, params []byte) {
	name, _ := wire.Unquote(method, false)
	lag := strings.HasSuffix(name, "_subscriptionLag")
	if !lag && !strings.HasSuffix(name, "_subscription") {
		return
	}
	var id, result, dropped []byte
	wire.Object(params, 0, func(key []byte, esc bool, s, e int) error {
		switch {
		case wire.KeyIs(key, esc, "subscription"):
			id = params[s:e]
		case wire.KeyIs(key, esc, "result"):
			result = params[s:e]
		case wire.KeyIs(key, esc, "dropped"):
			dropped = params[s:e]
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
	case result != nil:
		cs.deliver(result)
	}
}

// failSubs ends every subscription with err; the client has stopped.
func (c *Client) failSubs(err error) {
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for _, cs := range subs {
		cs.end(err)
	}
}
