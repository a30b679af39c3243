package rpc

import (
	"context"
	"errors"
	"fmt"
)

// resubscribe subscribes every subscription that waits for a reconnect again on cc, before cc
// is open to other calls: the calls are all sent, then their answers awaited, for at most
// resubscribeTimeout. A subscription the server refuses (or does not answer in time) ends with
// that error; when cc is lost meanwhile, the subscriptions wait for the next connection.
func (r *reconnector) resubscribe(cc *clientConn) {
	c := r.c
	c.mu.Lock()
	subs := make([]*ClientSubscription, 0, len(r.suspended))
	for cs := range r.suspended {
		subs = append(subs, cs)
	}
	c.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, resubscribeTimeout)
	defer cancel()
	type call struct {
		pc *pendingCall
		id uint64
	}
	calls := make([]call, 0, len(subs))
	for _, cs := range subs {
		pc := &pendingCall{done: make(chan struct{}), sub: cs, resub: true, cc: cc}
		id, err := c.start(ctx, pc, cs.namespace+subscribeSuffix, cs.resumeArgs())
		switch {
		case err == nil:
			calls = append(calls, call{pc, id})
		case errors.Is(err, ErrConnectionLost) || r.ctx.Err() != nil:
			return // cc is lost, or the client closed
		default:
			cs.end(fmt.Errorf("rpc: subscription not resumed after reconnecting: %w", err))
		}
	}
	for _, k := range calls {
		select {
		case <-k.pc.done:
		case <-ctx.Done():
		}
		err := k.pc.finish(ctx.Err())
		if err == nil {
			continue
		}
		c.forget(k.id, 1)
		switch {
		case errors.Is(err, ErrConnectionLost) || r.ctx.Err() != nil:
			return
		case errors.Is(err, ErrClosed): // the subscription ended meanwhile
		default:
			k.pc.sub.end(fmt.Errorf("rpc: subscription not resumed after reconnecting: %w", err))
		}
	}
}

// start sends a call on pc's connection without waiting for its answer, and returns its id.
func (c *Client) start(ctx context.Context, pc *pendingCall, method string, args []any) (uint64, error) {
	bp := getBuf()
	defer putBuf(bp)
	id := c.ids.Add(1)
	buf, err := appendRequest(*bp, id, true, method, args, nil)
	buf = append(buf, '\n')
	*bp = buf
	if err != nil {
		return 0, err
	}
	if err := c.register(ctx, pc, id, 1); err != nil {
		return 0, err
	}
	if err := pc.cc.send(ctx, buf); err != nil {
		c.forget(id, 1)
		return 0, err
	}
	return id, nil
}

// resubscribed runs on the read loop when cs has been subscribed again on cc with id: the
// notifications that follow find it. It reports false when cs ended meanwhile, cc is lost or
// the client has stopped.
func (c *Client) resubscribed(cs *ClientSubscription, id string, cc *clientConn) bool {
	c.mu.Lock()
	_, waiting := c.rc.suspended[cs]
	if c.err != nil || !waiting || c.rc.cur != cc {
		c.mu.Unlock()
		return false
	}
	delete(c.rc.suspended, cs)
	if c.subs == nil {
		c.subs = make(map[string]*ClientSubscription)
	}
	cs.id, cs.cc = id, cc
	c.subs[id] = cs
	c.mu.Unlock()
	cs.resumed()
	return true
}
