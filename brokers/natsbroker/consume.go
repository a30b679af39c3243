package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Consumers: one ephemeral, memory-backed, unacknowledged pull consumer per subscribed topic,
// filtered on its subject. Each (re)start is a new generation starting after the last stream
// sequence delivered; deliveries of an older generation are dropped, and a gap in a
// consumer's own sequence (a message lost on the way) stops its generation and restarts
// the topic from the last sequence delivered, so that delivery has no gap that the stream
// could still fill.
const (
	consumerIdle  = 30 * time.Second // the server deletes a consumer left behind after this
	pullExpiry    = 5 * time.Second
	pullHeartbeat = time.Second // a consumer silent for two of these is restarted
)

// supervise keeps the stream and the consumers up: on every connection, every consumer's
// failure and every epoch change. It runs until Close.
func (b *Broker) supervise() {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-b.kick:
		case <-retry.C:
		}
		if !b.refresh() {
			retry.Reset(b.opts.ReconnectWait)
		}
	}
}

// refresh creates or updates the stream, notes its epoch and restarts the consumers that need
// it; it reports false when it should be tried again.
func (b *Broker) refresh() bool {
	b.rmu.Lock()
	defer b.rmu.Unlock()
	if !b.nc.IsConnected() {
		return true // the reconnect handler pokes again
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	s, err := b.js.CreateOrUpdateStream(ctx, b.streamConfig())
	if err != nil {
		b.setErr(fmt.Errorf("%w: stream %s: %v", ErrUnavailable, b.opts.Stream, err))
		return false
	}
	epoch := epochOf(s.CachedInfo())
	b.mu.Lock()
	all := b.reconnected
	b.reconnected = false
	b.epoch = epoch
	topics := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		topics = append(topics, t)
	}
	b.mu.Unlock()
	ok := true
	for _, t := range topics {
		t.dmu.Lock()
		reset := t.epoch != epoch
		if reset {
			// The stream was recreated: everything it holds came after the loss.
			t.cursor, t.epoch = 0, epoch
		}
		need := t.subscribed && (all || reset || t.broken)
		t.dmu.Unlock()
		if need {
			if err := b.restart(ctx, t); err != nil {
				ok = false
				b.setErr(fmt.Errorf("%w: consumer of %q: %v", ErrUnavailable, t.name, err))
			}
		}
	}
	if ok {
		b.setErr(nil)
	}
	return ok
}

// Subscribe implements [subscriptions.Broker]: it starts a consumer of topic from the
// stream's last sequence, so that every event published after it returns is delivered.
func (b *Broker) Subscribe(name string) error {
	if err := b.available(); err != nil {
		return err
	}
	t := b.topic(name)
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	s, err := b.js.Stream(ctx, b.opts.Stream)
	if err != nil {
		b.poke()
		return fmt.Errorf("%w: stream %s: %v", ErrUnavailable, b.opts.Stream, err)
	}
	info := s.CachedInfo()
	epoch := epochOf(info)
	b.noteEpoch(epoch)
	t.dmu.Lock()
	t.subscribed, t.broken = true, false
	t.cursor, t.epoch = info.State.LastSeq, epoch
	t.dmu.Unlock()
	if err := b.restart(ctx, t); err != nil {
		t.dmu.Lock()
		t.subscribed = false
		t.gen++
		cc, cname := t.cc, t.consumer
		t.cc, t.consumer = nil, ""
		t.dmu.Unlock()
		b.dispose(cc, cname)
		return fmt.Errorf("%w: consumer of %q: %v", ErrUnavailable, name, err)
	}
	return nil
}

// Unsubscribe implements [subscriptions.Broker].
func (b *Broker) Unsubscribe(name string) error {
	b.mu.Lock()
	t := b.topics[name]
	b.mu.Unlock()
	if t == nil {
		return nil
	}
	t.dmu.Lock()
	cc, cname := t.cc, t.consumer
	t.subscribed, t.cc, t.consumer = false, nil, ""
	t.gen++
	t.dmu.Unlock()
	b.dispose(cc, cname)
	return nil
}

// restart replaces the topic's consumer with a new generation starting after its cursor.
func (b *Broker) restart(ctx context.Context, t *topic) error {
	t.dmu.Lock()
	if !t.subscribed {
		t.dmu.Unlock()
		return nil
	}
	old, oldName := t.cc, t.consumer
	t.gen++
	gen, start := t.gen, t.cursor+1
	t.cseq, t.cc, t.consumer, t.broken = 0, nil, "", false
	t.dmu.Unlock()
	b.dispose(old, oldName)

	cons, err := b.js.CreateOrUpdateConsumer(ctx, b.opts.Stream, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     t.subject,
		MemoryStorage:     true,
		InactiveThreshold: consumerIdle,
	})
	if err != nil {
		b.markBroken(t, gen)
		return err
	}
	name := cons.CachedInfo().Name
	cc, err := cons.Consume(b.handler(t, gen),
		jetstream.PullExpiry(pullExpiry),
		jetstream.PullHeartbeat(pullHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if b.opts.Logger != nil {
				b.opts.Logger.Debug("consumer error", "broker", "nats", "topic", t.name, "err", err)
			}
			b.markBroken(t, gen)
		}))
	if err != nil {
		b.dispose(nil, name)
		b.markBroken(t, gen)
		return err
	}
	t.dmu.Lock()
	if t.gen != gen || !t.subscribed {
		t.dmu.Unlock()
		b.dispose(cc, name)
		return nil
	}
	t.cc, t.consumer = cc, name
	t.dmu.Unlock()
	return nil
}

// markBroken asks the supervisor to restart the topic's consumer of generation gen.
func (b *Broker) markBroken(t *topic, gen int) {
	t.dmu.Lock()
	mine := t.gen == gen && t.subscribed
	if mine {
		t.broken = true
	}
	t.dmu.Unlock()
	if mine {
		b.poke()
	}
}

// dispose stops a consumer and deletes it from the server in the background.
func (b *Broker) dispose(cc jetstream.ConsumeContext, name string) {
	if cc != nil {
		cc.Stop()
	}
	if name == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.done:
		return // the server drops it once idle
	default:
	}
	b.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
		defer cancel()
		if err := b.js.DeleteConsumer(ctx, b.opts.Stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && b.opts.Logger != nil {
			b.opts.Logger.Debug("consumer not deleted", "broker", "nats", "consumer", name, "err", err)
		}
	})
}

// handler delivers the messages of one consumer generation.
func (b *Broker) handler(t *topic, gen int) jetstream.MessageHandler {
	return func(msg jetstream.Msg) {
		md, err := msg.Metadata()
		if err != nil {
			return
		}
		t.dmu.Lock()
		defer t.dmu.Unlock()
		if t.gen != gen || !t.subscribed {
			return
		}
		if md.Sequence.Consumer != t.cseq+1 {
			// A message was lost between the server and this node: stop this generation,
			// the next one starts after the last delivered.
			t.gen++
			t.broken = true
			b.poke()
			return
		}
		t.cseq = md.Sequence.Consumer
		seq := md.Sequence.Stream
		if seq <= t.cursor {
			return
		}
		ev := subscriptions.Event{Topic: t.name, Offset: seq, Prev: prevOf(msg.Headers().Get(hdrPrev), t.cursor, seq), Epoch: t.epoch, Data: msg.Data()}
		t.cursor = seq
		t.hint.Store(seq)
		b.h.Deliver(ev)
	}
}

// prevOf reads an event's Prev header; without a valid one, the event is taken to follow
// fallback.
func prevOf(h string, fallback, seq uint64) uint64 {
	if p, err := strconv.ParseUint(h, 10, 64); err == nil && p < seq {
		return p
	}
	return min(fallback, seq-1)
}
