package natsbroker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// History implements [subscriptions.Broker]: the top is the subject's last message (or, for a
// topic without stored events, the stream's first sequence less one), and the events are read
// with a short-lived consumer of the subject.
func (b *Broker) History(ctx context.Context, name string, since *subscriptions.Position, limit int) ([]subscriptions.Event, subscriptions.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, subscriptions.Position{}, err
	}
	if err := b.available(); err != nil {
		return nil, subscriptions.Position{}, err
	}
	ctx, cancel := b.reqCtx(ctx)
	defer cancel()
	subject := b.opts.Subject + "." + token(name)
	s, err := b.js.Stream(ctx, b.opts.Stream)
	if err != nil {
		return nil, subscriptions.Position{}, b.failed(name, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, subscriptions.Position{}, b.failed(name, err)
	}
	info := s.CachedInfo()
	if m == nil {
		if info, err = s.Info(ctx); err != nil { // after the look-up: see floorOf
			return nil, subscriptions.Position{}, b.failed(name, err)
		}
	}
	epoch := epochOf(info)
	b.noteEpoch(epoch)
	if m == nil {
		return nil, subscriptions.Position{Epoch: epoch, Offset: floorOf(info)}, nil
	}
	top := subscriptions.Position{Epoch: epoch, Offset: m.Sequence}
	switch {
	case limit <= 0 || since != nil && since.Offset >= top.Offset:
		return nil, top, nil
	case since == nil && limit == 1:
		ev := subscriptions.Event{Topic: name, Offset: m.Sequence, Prev: prevOf(m.Header.Get(hdrPrev), 0, m.Sequence), Epoch: epoch, Data: m.Data}
		return []subscriptions.Event{ev}, top, nil
	}
	start, max := uint64(1), limit
	if since != nil {
		start = since.Offset + 1
	} else {
		max = -1 // read them all, keep the last limit
	}
	evs, err := b.read(ctx, name, subject, start, top.Offset, max, epoch)
	if err != nil {
		return nil, subscriptions.Position{}, b.failed(name, err)
	}
	if since == nil && len(evs) > limit {
		evs = slices.Clone(evs[len(evs)-limit:])
	}
	return evs, top, nil
}

// read returns the subject's events from sequence start up to end, at most max of them
// (negative: no bound), through an ephemeral consumer.
func (b *Broker) read(ctx context.Context, name, subject string, start, end uint64, max int, epoch string) ([]subscriptions.Event, error) {
	cons, err := b.js.CreateOrUpdateConsumer(ctx, b.opts.Stream, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     subject,
		MemoryStorage:     true,
		InactiveThreshold: 10 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	defer b.dispose(nil, cons.CachedInfo().Name)
	var evs []subscriptions.Event
	prev := start - 1
	for {
		want := 256
		if max >= 0 {
			want = min(want, max-len(evs))
		}
		batch, err := cons.FetchNoWait(want)
		if err != nil {
			return nil, err
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			md, err := msg.Metadata()
			if err != nil {
				continue
			}
			seq := md.Sequence.Stream
			if seq > end || max >= 0 && len(evs) >= max {
				continue // drain the batch
			}
			evs = append(evs, subscriptions.Event{Topic: name, Offset: seq, Prev: prevOf(msg.Headers().Get(hdrPrev), prev, seq), Epoch: epoch, Data: msg.Data()})
			prev = seq
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 || prev >= end || max >= 0 && len(evs) >= max {
			return evs, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// Topics implements [subscriptions.TopicLister]: the stream's subjects under the prefix, each
// with its last message.
func (b *Broker) Topics(ctx context.Context) ([]subscriptions.TopicInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.available(); err != nil {
		return nil, err
	}
	ctx, cancel := b.reqCtx(ctx)
	defer cancel()
	s, err := b.js.Stream(ctx, b.opts.Stream)
	if err != nil {
		return nil, b.failed("", err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(b.opts.Subject+".>"))
	if err != nil {
		return nil, b.failed("", err)
	}
	epoch := epochOf(info)
	out := make([]subscriptions.TopicInfo, 0, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		name, err := topicOf(strings.TrimPrefix(subj, b.opts.Subject+"."))
		if err != nil || n == 0 {
			continue
		}
		m, err := s.GetLastMsgForSubject(ctx, subj)
		if err != nil {
			continue // forgotten meanwhile
		}
		out = append(out, subscriptions.TopicInfo{Topic: name, Events: int(n), Top: subscriptions.Position{Epoch: epoch, Offset: m.Sequence}, Last: m.Time})
	}
	slices.SortFunc(out, func(x, y subscriptions.TopicInfo) int { return strings.Compare(x.Topic, y.Topic) })
	return out, nil
}
