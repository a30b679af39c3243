package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// casPatience is how many times in a row a publish retries at once after losing the race for
// its topic's next sequence to another node; past it, each retry first waits casPause per
// attempt beyond (at most maxCASPause). A node that publishes back to back learns the new
// last sequence from its own ack before a loser learns it from its error, so the loser can
// lose every race while the other's burst lasts: it keeps trying, paced, until its context
// ends (Timeout by default).
const (
	casPatience = 8
	casPause    = 50 * time.Microsecond
	maxCASPause = 2 * time.Millisecond
)

// Publish implements [subscriptions.Broker]. The event is stored with a header naming the
// topic's previous sequence, on the condition that the subject's last sequence still is that
// one (JetStream's expected last subject sequence): of two nodes publishing to a topic at
// once, one wins and the other retries after it, so every event's Prev is the one before it.
// Its offset is the stream sequence.
func (b *Broker) Publish(ctx context.Context, name string, data []byte) (subscriptions.Position, error) {
	if err := ctx.Err(); err != nil {
		return subscriptions.Position{}, err
	}
	if err := b.available(); err != nil {
		return subscriptions.Position{}, err
	}
	t := b.topic(name)
	ctx, cancel := b.reqCtx(ctx)
	defer cancel()
	t.pub.Lock()
	defer t.pub.Unlock()
	for attempt := 0; ; attempt++ {
		if h := t.hint.Load(); t.known && h > t.last {
			t.last = h // delivered since: the subject's last, unless a later one is on its way
		}
		var floor uint64
		if !t.known || t.last == 0 {
			last, fl, err := b.lastOf(ctx, t, t.last)
			if err != nil {
				return subscriptions.Position{}, b.failed(name, err)
			}
			t.last, t.known, floor = last, true, fl
		}
		prev := t.last
		if prev == 0 {
			prev = floor
		}
		msg := &nats.Msg{Subject: t.subject, Data: data, Header: nats.Header{hdrPrev: []string{strconv.FormatUint(prev, 10)}}}
		ack, err := b.js.PublishMsg(ctx, msg,
			jetstream.WithExpectLastSequencePerSubject(t.last),
			jetstream.WithExpectStream(b.opts.Stream))
		if err == nil {
			t.last = ack.Sequence
			return subscriptions.Position{Epoch: b.currentEpoch(), Offset: ack.Sequence}, nil
		}
		t.known = false
		conflict, actual := wrongLast(err)
		if !conflict || ctx.Err() != nil {
			return subscriptions.Position{}, b.failed(name, err)
		}
		if attempt >= casPatience {
			pause := min(time.Duration(attempt-casPatience+1)*casPause, maxCASPause)
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return subscriptions.Position{}, b.failed(name, err)
			}
		}
		if actual > t.last {
			// The server says which sequence is last now: retry after it at once. (Not when
			// it went back: the stream may have been recreated, its epoch must be read.)
			t.last, t.known = actual, true
		}
	}
}

// lastOf returns the subject's last sequence (0: none stored) and, when it has none, the
// floor its next event follows. A last sequence below was (the one known before) means that
// the stream was recreated: its epoch is read again.
func (b *Broker) lastOf(ctx context.Context, t *topic, was uint64) (last, floor uint64, err error) {
	s, err := b.js.Stream(ctx, b.opts.Stream)
	if err != nil {
		return 0, 0, err
	}
	m, err := s.GetLastMsgForSubject(ctx, t.subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return 0, 0, err
	default:
		last = m.Sequence
	}
	info := s.CachedInfo() // read with the stream, before the last message
	if last < was || last == 0 {
		if info, err = s.Info(ctx); err != nil {
			return 0, 0, err
		}
	}
	b.noteEpoch(epochOf(info))
	return last, floorOf(info), nil
}

// wrongLast reports a conflict on the expected last subject sequence and, when the server
// said it ("wrong last sequence: N"), the subject's actual last sequence.
func wrongLast(err error) (bool, uint64) {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) ||
		apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence && apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequenceConstant {
		return false, 0
	}
	_, n, _ := strings.Cut(apiErr.Description, "wrong last sequence: ")
	actual, _ := strconv.ParseUint(strings.TrimSpace(n), 10, 64)
	return true, actual
}

// failed wraps a failed request's error, asking the supervisor to check the stream when it
// is gone.
func (b *Broker) failed(topic string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		b.poke()
	}
	return fmt.Errorf("%w: topic %q: %v", ErrUnavailable, topic, err)
}
