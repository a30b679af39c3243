package rpc

import (
	"fmt"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// GapError reports notifications of a [ClientSubscription] that were lost while the
// subscription goes on: the server's position notice said recovered false (its history no
// longer reached back to where the client was, or it lost that history), or a reconnecting
// client subscribed again to a subscription that carries no positions. It arrives on
// [ClientSubscription.Gaps]; the notifications after the gap follow on the channel.
type GapError struct {
	// From is the position of the last notification received before the gap (zero when the
	// client had none).
	From subscriptions.Position
	// To is the position the notifications continue after: those after From up to To are lost
	// (all of To's epoch up to To when the epochs differ). Zero when the server sends no
	// positions.
	To subscriptions.Position
	// Reconnected tells whether the gap came with a reconnect of the client.
	Reconnected bool
}

// Error implements the error interface.
func (e *GapError) Error() string {
	what := "rpc: subscription notifications lost"
	if e.Reconnected {
		what += " while reconnecting"
	}
	if e.To == (subscriptions.Position{}) {
		return what + " (the subscription carries no positions)"
	}
	return fmt.Sprintf("%s: continuing after offset %d of epoch %q; the last received was offset %d of epoch %q",
		what, e.To.Offset, e.To.Epoch, e.From.Offset, e.From.Epoch)
}

// positions is what a subscription knows of its place in the server's stream. Guarded by the
// subscription's mu.
type positions struct {
	recv     subscriptions.Position // the last position received: a reconnect resumes after it
	hasRecv  bool
	sent     subscriptions.Position // of the last value sent on the channel: Position
	hasSent  bool
	resuming bool // subscribed again with recv: the next notice tells whether it recovered
}

// clientNote is one entry of a subscription's queue: a notification's result (raw), or, with
// raw nil, a position notice. A notice that follows lost notifications carries the gap.
type clientNote struct {
	raw    []byte
	pos    subscriptions.Position
	hasPos bool
	gap    *GapError
}

// Position returns the position, in the server's stream, of the last value sent on the
// subscription's channel, or of the start of the stream or of a gap reported on Gaps when that
// came later. ok is false while the server has sent no position (a subscription that is not
// backed by a [subscriptions.Feed]). It moves once a send has completed, so it never runs
// ahead of what the channel took (with a buffered channel, values in the buffer count as
// taken), and right after a receive it may still be the previous value's; after Unsubscribe it
// is final.
//
// Passed as the last argument of a later Subscribe of a resumable subscription (a method with
// a trailing *subscriptions.Position parameter), it resumes after that value; a reconnecting
// client (see [NewReconnectingClient]) does so by itself.
func (cs *ClientSubscription) Position() (pos subscriptions.Position, ok bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.pos.sent, cs.pos.hasSent
}

// Gaps returns a channel that reports notifications lost while the subscription went on (see
// [GapError]). The subscription continues: the notifications after a gap follow on the
// subscription's channel. A gap is put on Gaps once every notification before it has been sent
// on the subscription's channel, and before any that follows it; the channel never blocks the
// subscription: gaps not taken yet are merged into one (the first's From, the last's To).
func (cs *ClientSubscription) Gaps() <-chan *GapError { return cs.gaps }

// deliver queues one notification's raw result (copied) with its offset (0: none); it runs on
// the read loop.
func (cs *ClientSubscription) deliver(raw []byte, off uint64) {
	n := clientNote{raw: append([]byte(nil), raw...)}
	if off != 0 {
		cs.mu.Lock()
		cs.pos.recv.Offset, cs.pos.hasRecv = off, true
		n.pos, n.hasPos = cs.pos.recv, true
		cs.mu.Unlock()
	}
	cs.enqueue(n)
}

// positioned takes a position notice: what follows continues after off in epoch, with a gap
// unless recovered. It runs on the read loop.
func (cs *ClientSubscription) positioned(epoch string, off uint64, recovered bool) {
	to := subscriptions.Position{Epoch: epoch, Offset: off}
	n := clientNote{pos: to, hasPos: true}
	cs.mu.Lock()
	if !recovered {
		n.gap = &GapError{From: cs.pos.recv, To: to, Reconnected: cs.pos.resuming}
	}
	cs.pos.recv, cs.pos.hasRecv, cs.pos.resuming = to, true, false
	cs.mu.Unlock()
	cs.enqueue(n)
}

// resumed runs on the read loop when the subscription was subscribed again after a reconnect:
// with positions, the notice that follows tells whether it recovered; without, notifications
// may have been lost and a gap says so.
func (cs *ClientSubscription) resumed() {
	cs.mu.Lock()
	had := cs.pos.hasRecv
	cs.pos.resuming = had
	cs.mu.Unlock()
	if !had {
		cs.enqueue(clientNote{gap: &GapError{Reconnected: true}})
	}
}

// passed runs on the forwarding goroutine once n has reached the channel (a notice: once it is
// next in the queue).
func (cs *ClientSubscription) passed(n clientNote) {
	if n.hasPos {
		cs.mu.Lock()
		cs.pos.sent, cs.pos.hasSent = n.pos, true
		cs.mu.Unlock()
	}
	if n.gap == nil {
		return
	}
	// The forwarding goroutine is the only sender, so after taking what waits the send
	// cannot block.
	g := n.gap
	select {
	case old := <-cs.gaps:
		g = &GapError{From: old.From, To: g.To, Reconnected: old.Reconnected || g.Reconnected}
	default:
	}
	cs.gaps <- g
}

// resumeArgs returns the arguments that subscribe again after the last position received:
// the subscribe call's arguments with the position in place of a trailing Position or
// *Position, or else after them. Without a position, the arguments as they were.
func (cs *ClientSubscription) resumeArgs() []any {
	cs.mu.Lock()
	pos, ok := cs.pos.recv, cs.pos.hasRecv
	cs.mu.Unlock()
	if !ok {
		return cs.args
	}
	args := append([]any(nil), cs.args...)
	switch n := len(args); {
	case n > 1 && isPosition(args[n-1]):
		args[n-1] = &pos
	default:
		args = append(args, &pos)
	}
	return args
}

// isPosition reports whether a is a position argument, a Position or a *Position (nil too).
func isPosition(a any) bool {
	switch a.(type) {
	case subscriptions.Position, *subscriptions.Position:
		return true
	}
	return false
}
