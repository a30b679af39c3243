package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// The listener owns one pub/sub connection, subscribed to the channels of the subscribed
// topics, and delivers every event on its own goroutine (one at a time, for every topic).
// Pub/sub may lose messages (a reconnection, a slow connection), so each topic remembers the
// last offset it delivered: a message that does not follow it, and every (re)subscription
// confirmed by the server, reads the missing events from the topic's stream first. So
// delivery has no gap that the stream can still fill, and no duplicate.

// catchUpBatch is how many events one catch-up read takes from a stream at a time.
const catchUpBatch = 512

// listen connects, subscribes and receives until Close, reconnecting after a failure. ready
// is closed after the first attempt.
func (b *Broker) listen(ready chan struct{}) {
	defer func() {
		if ready != nil {
			close(ready)
		}
	}()
	for b.ctx.Err() == nil {
		ps, err := b.connect()
		if err != nil {
			// The server cannot be reached (a dropped connection alone, with the server
			// still up, reconnects at once and tells nobody).
			b.setErr(fmt.Errorf("%w: %v", ErrUnavailable, err))
		} else {
			b.setErr(nil)
		}
		if ready != nil {
			close(ready)
			ready = nil
		}
		if err != nil {
			select {
			case <-b.ctx.Done():
			case <-b.kick:
			case <-time.After(b.opts.ReconnectWait):
			}
			continue
		}
		err = b.receive(ps)
		b.mu.Lock()
		b.ps = nil
		b.mu.Unlock()
		ps.Close()
		if b.opts.Logger != nil && b.ctx.Err() == nil {
			b.opts.Logger.Debug("pub/sub connection lost", "broker", "redis", "err", err)
		}
	}
}

// connect opens a pub/sub connection subscribed to every subscribed topic.
func (b *Broker) connect() (*redis.PubSub, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	if err := b.rdb.Ping(ctx).Err(); err != nil {
		return nil, err
	}
	ps := b.rdb.Subscribe(ctx)
	b.mu.Lock()
	channels := make([]string, 0, len(b.topics))
	for name := range b.topics {
		channels = append(channels, b.channel(name))
	}
	b.ps = ps
	b.mu.Unlock()
	var err error
	if len(channels) > 0 {
		err = ps.Subscribe(ctx, channels...)
	} else {
		err = ps.Ping(ctx)
	}
	if err != nil {
		b.mu.Lock()
		b.ps = nil
		b.mu.Unlock()
		ps.Close()
		return nil, err
	}
	return ps, nil
}

// receive delivers what ps receives until it fails (a ping every second proves it alive).
func (b *Broker) receive(ps *redis.PubSub) error {
	for {
		select {
		case <-b.kick: // a request failed: is the connection still up?
			ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
			err := ps.Ping(ctx)
			cancel()
			if err != nil {
				return err
			}
		default:
		}
		msg, err := ps.ReceiveTimeout(b.ctx, time.Second)
		var ne net.Error
		switch {
		case b.ctx.Err() != nil:
			return ErrClosed
		case errors.As(err, &ne) && ne.Timeout():
			ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
			err = ps.Ping(ctx)
			cancel()
			if err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if t := b.subscribed(strings.TrimPrefix(m.Channel, b.opts.Prefix+"c:")); t != nil {
					if err := b.catchUp(t, ""); err != nil {
						return err
					}
				}
			}
		case *redis.Message:
			if err := b.onMessage(strings.TrimPrefix(m.Channel, b.opts.Prefix+"c:"), m.Payload); err != nil {
				return err
			}
		}
	}
}

func (b *Broker) subscribed(name string) *topic {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics[name]
}

// onMessage delivers one published event, or catches the topic up to it.
func (b *Broker) onMessage(name, payload string) error {
	t := b.subscribed(name)
	if t == nil {
		return nil // unsubscribed meanwhile
	}
	offStr, rest, ok1 := strings.Cut(payload, ":")
	epoch, data, ok2 := strings.Cut(rest, ":")
	off, err := strconv.ParseUint(offStr, 10, 64)
	if !ok1 || !ok2 || err != nil || off == 0 {
		return nil // not ours
	}
	switch {
	case epoch != t.epoch:
		return b.catchUp(t, epoch) // a new history: from its start
	case off <= t.last:
		return nil // delivered by a catch-up already
	case off == t.last+1:
		t.last = off
		b.h.Deliver(subscriptions.Event{Topic: name, Offset: off, Prev: off - 1, Epoch: epoch, Data: []byte(data)})
		return nil
	}
	return b.catchUp(t, epoch) // events were missed: from the stream
}

// catchUp delivers the topic's stored events after the last one delivered, or, when the
// topic's epoch (or seen, the epoch of a message just received) is not the one delivered
// from, every stored event of the new epoch. It fails only when the server cannot be read.
func (b *Broker) catchUp(t *topic, seen string) error {
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	for {
		epoch, err := b.rdb.HGet(ctx, b.metaKey(t.name), "e").Result()
		switch {
		case err == redis.Nil:
			return nil // no history now: the next event brings its epoch
		case err != nil:
			return err
		}
		if seen != "" && epoch != seen {
			return nil // it changed again meanwhile: the next message says to what
		}
		from := t.last + 1
		if epoch != t.epoch {
			from = 1
		}
		entries, err := b.rdb.XRangeN(ctx, b.streamKey(t.name), strconv.FormatUint(from, 10)+"-0", "+", catchUpBatch).Result()
		if err != nil {
			return err
		}
		if epoch != t.epoch {
			t.epoch, t.last = epoch, 0
		}
		for _, e := range entries {
			ev, _, ok := entryEvent(t.name, epoch, e.ID, func(k string) string { s, _ := e.Values[k].(string); return s })
			if !ok || ev.Offset <= t.last {
				continue
			}
			t.last = ev.Offset
			b.h.Deliver(ev)
		}
		if len(entries) < catchUpBatch {
			return nil
		}
	}
}

// Subscribe implements [subscriptions.Broker]. Delivery starts after the topic's last offset
// now; an event published after Subscribe returns reaches the listener through pub/sub once
// the server confirms the subscription, or through the catch-up that the confirmation starts.
func (b *Broker) Subscribe(name string) error {
	if err := b.available(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	_, top, err := b.History(ctx, name, nil, 0)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if b.topics[name] == nil {
		b.topics[name] = &topic{name: name, epoch: top.Epoch, last: top.Offset}
	}
	ps := b.ps
	b.mu.Unlock()
	if ps == nil {
		return nil // the listener subscribes to it when it connects
	}
	if err := ps.Subscribe(ctx, b.channel(name)); err != nil {
		return b.failed(name, err)
	}
	return nil
}

// Unsubscribe implements [subscriptions.Broker].
func (b *Broker) Unsubscribe(name string) error {
	b.mu.Lock()
	delete(b.topics, name)
	ps := b.ps
	b.mu.Unlock()
	if ps == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	return ps.Unsubscribe(ctx, b.channel(name))
}
