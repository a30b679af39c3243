package rpc

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// reader is ServeConn's read loop and the policy that decides where each message runs:
//
//   - Nothing else in flight: the message runs inline, on the goroutine that read it (no
//     hand-over to another goroutine).
//   - Calls in flight: the message is dispatched to a worker and reading goes on.
//   - The last inline message was slow (longer than inlinePolicy.slow): the message still runs
//     inline, but reading is first handed over to a worker, so that pipelined slow calls run
//     side by side. The hand-over is a probe: if the message after it arrives only once the
//     handed-over one has been answered, the peer waits for each answer, and the next
//     inlinePolicy.skips slow messages run inline without a hand-over before the next probe.
//   - A message runs inline for two watchdog checks (between one and two inlinePolicy.budget
//     periods): the watchdog starts the loop on its own goroutine, which reads on, and the
//     goroutine running the message stops reading once the message is done.
//
// Invariants: at any time exactly one goroutine reads conn; a message runs inline only while it
// holds a call slot and nothing else is in flight, so at most one message runs inline; the
// goroutine that ends the loop sends the outcome on done, once.
type reader struct {
	s       *Server
	ss      *Session
	conn    Conn
	release func([]byte) // conn's Releaser, if any
	wd      *watchdog
	done    chan error

	// lastSlow: the last message run by the loop's own goroutines (not a worker running a
	// dispatched one) ran longer than inlinePolicy.slow. Stored before the message's call slot
	// is released, so the reader sees it when it finds no call in flight.
	lastSlow atomic.Bool

	// Used by the reading goroutine only (a hand-over of reading publishes them), and read by
	// the watchdog's goroutine once it has claimed the message inline (see take).
	seq       uint64    // of the last message run inline
	probing   bool      // reading was handed over for the last message: was it of use?
	probeSent uint64    // Session.sent at that hand-over
	skips     int       // slow messages still to run inline without a hand-over
	ictx      *lazyCtx  // the context of inline messages, reused until cancelled; nil: none yet
	inl       inlineMsg // the message running inline, for take

	tmu   sync.Mutex
	taken map[uint64]*takenMsg // guarded by tmu; see take
}

// inlineMsg is a message running inline and its context.
type inlineMsg struct {
	msg []byte
	ctx *lazyCtx
}

// takenMsg is an inline message whose ids a takeover registered for cancellation.
type takenMsg struct {
	ctx *lazyCtx
	ids [][]byte // alias the message, which untake unregisters before it is released
}

// inlinePolicy tunes reader (tests shorten or lengthen it; see SetInlinePolicy in
// export_test.go).
type inlinePolicy struct {
	// slow: how long a message may run inline before the next one is run with reading handed
	// over. A hand-over costs far more than a quick call and far less than a slow one.
	slow time.Duration
	// budget: the watchdog's period. A message still running at two of its checks has
	// reading taken away from it, so a quick call behind a stuck one is answered within two
	// periods. Each check is a timer, so the period is long, and the slow rule (which needs
	// no timer) does the everyday work.
	budget time.Duration
	// skips: how many slow messages run inline without a hand-over after a hand-over that was
	// of no use, before the next probe.
	skips int
	// onHandover and onTakeover, if not nil, run at each hand-over of reading and at each
	// takeover by the watchdog (tests count them).
	onHandover, onTakeover func()
}

var defaultInline = inlinePolicy{slow: 250 * time.Microsecond, budget: 20 * time.Millisecond, skips: 7}

// newReader returns the read loop of ss over conn; run it with loop.
func newReader(s *Server, ss *Session, conn Conn) *reader {
	r := &reader{s: s, ss: ss, conn: conn, done: make(chan error, 1)}
	if rel, ok := conn.(Releaser); ok {
		r.release = rel.Release
	}
	r.wd = newWatchdog(s.cfg.inline.budget, r.takeover)
	return r
}

// loop reads messages and runs them until the connection ends or reading moves to another
// goroutine.
func (r *reader) loop() {
	for {
		msg, err := r.conn.ReadMessage()
		switch {
		case err == nil:
			if !r.serve(msg) {
				return
			}
		case errors.Is(err, ErrMessageTooLarge), errors.Is(err, ErrServerBusy):
			if !r.refuse(err) {
				r.done <- nil // closed meanwhile
				return
			}
		case errors.Is(err, io.EOF):
			r.drain()
			r.done <- nil
			return
		default:
			r.ss.cancel()
			if r.ss.ctx.Err() != nil && errors.Is(err, io.ErrClosedPipe) {
				err = nil // closed by the server
			}
			r.done <- err
			return
		}
	}
}

// serve runs msg inline or dispatches it (see reader). It reports false when this goroutine
// must stop reading: reading moved to another goroutine, or the session closed.
func (r *reader) serve(msg []byte) bool {
	ss := r.ss
	if r.probing {
		// The message after a hand-over came before the handed-over one was answered: the
		// hand-over is worth its cost; after: it is not. (Nothing else was in flight at the
		// hand-over, and nothing has been read since.)
		r.probing = false
		r.skips = 0
		if ss.sent.Load() != r.probeSent {
			r.skips = r.s.cfg.inline.skips
		}
	}
	if ss.back.n.Load() > 0 && ss.tryAnswer(msg) {
		// An answer to a call to the client, routed without a call slot: the calls waiting
		// for answers may hold every slot.
		if r.release != nil {
			r.release(msg)
		}
		return true
	}
	if ss.cancels.n.Load() > 0 && ss.tryCancel(msg) {
		// Handled without a call slot: a peer with all its slots taken can still cancel.
		if r.release != nil {
			r.release(msg)
		}
		return true
	}
	if ss.calls.n.Load() == 0 && ss.acquire() {
		if r.lastSlow.Load() {
			if r.skips == 0 {
				r.probing, r.probeSent = true, ss.sent.Load()
				r.runHandingOver(msg, time.Now())
				return false
			}
			r.skips--
		}
		return r.runInline(msg, time.Now())
	}
	if !ss.dispatch(msg, r.release) {
		if r.release != nil {
			r.release(msg)
		}
		r.done <- nil // closed meanwhile
		return false
	}
	return true
}

// runInline runs msg on this goroutine, holding a call slot that it has taken, and releases
// msg. It reports false if the watchdog took reading over meanwhile.
func (r *reader) runInline(msg []byte, start time.Time) bool {
	if r.seq++; r.seq == claimed {
		r.seq = 1
	}
	seq := r.seq
	ctx := r.inlineCtx(msg)
	r.wd.begin(seq)
	r.ss.run(ctx, msg)
	// Settle the hand-over while holding the slot: until it is released no other goroutine
	// can run a message inline and so begin another.
	mine := r.wd.end(seq)
	if !mine && r.ss.cancelOn() {
		r.untake(seq)
	}
	r.finish(msg, start)
	return mine
}

// inlineCtx returns the context for msg, about to run inline: the session's when
// cancellation is off; otherwise the reader's own, made once and reused from message to
// message until a cancellation spends it, so that a quick inline call costs nothing more.
// It records msg for a takeover.
func (r *reader) inlineCtx(msg []byte) context.Context {
	if !r.ss.cancelOn() {
		return r.ss.ctx
	}
	c := r.ictx
	if c == nil || c.own.Load() {
		c = r.ss.newMsgCtx(false)
		r.ictx = c
	}
	r.inl = inlineMsg{msg: msg, ctx: c}
	return c
}

// take registers the ids of the message running inline, seq, which the watchdog has just
// claimed, so that a cancel notification read from now on reaches it: unless it has ended
// meanwhile (untake came first).
func (r *reader) take(seq uint64) {
	r.tmu.Lock()
	defer r.tmu.Unlock()
	if _, ended := r.taken[seq]; ended {
		delete(r.taken, seq)
		return
	}
	t := &takenMsg{ctx: r.inl.ctx, ids: messageIDs(r.inl.msg)}
	for _, id := range t.ids {
		r.ss.cancels.add(id, t.ctx)
	}
	if r.taken == nil {
		r.taken = make(map[uint64]*takenMsg)
	}
	r.taken[seq] = t
}

// untake is the end of inline message seq after a takeover: it unregisters what take
// registered, or tells take that the message has ended if take has not run yet. It runs
// before the message is released, so take never reads a released message.
func (r *reader) untake(seq uint64) {
	r.tmu.Lock()
	t, ok := r.taken[seq]
	if ok {
		delete(r.taken, seq)
	} else {
		if r.taken == nil {
			r.taken = make(map[uint64]*takenMsg)
		}
		r.taken[seq] = nil
	}
	r.tmu.Unlock()
	if t != nil {
		for _, id := range t.ids {
			r.ss.cancels.remove(id, t.ctx)
		}
	}
}

// runHandingOver runs msg on this goroutine, holding a call slot that it has taken, after
// starting the read loop on a worker; this goroutine reads no more.
func (r *reader) runHandingOver(msg []byte, start time.Time) {
	if h := r.s.cfg.inline.onHandover; h != nil {
		h()
	}
	r.s.workers.run(r.loop)
	r.ss.runOwn(msg)
	r.finish(msg, start)
}

// handOff moves reading to a worker now if a message runs inline on the reading goroutine, as
// the watchdog would after a while: a call of that message (or of anything else on the
// session) is about to wait for the peer, whose answer must be read. It claims the message as
// the watchdog does, so at most one of them takes reading over.
func (r *reader) handOff() {
	s := r.wd.cur.Load()
	if s == 0 || s == claimed || !r.wd.cur.CompareAndSwap(s, claimed) {
		return
	}
	r.s.workers.run(r.takeover)
}

// takeover is the watchdog's: the reading goroutine is stuck in a message, so this one reads
// on.
func (r *reader) takeover() {
	if h := r.s.cfg.inline.onTakeover; h != nil {
		h()
	}
	if r.ss.cancelOn() {
		r.take(r.seq)
	}
	r.loop()
}

// finish records whether msg, which started at start, was slow, and releases its slot and msg.
func (r *reader) finish(msg []byte, start time.Time) {
	r.lastSlow.Store(time.Since(start) > r.s.cfg.inline.slow)
	r.ss.release()
	if r.release != nil {
		r.release(msg)
	}
}

// refuse answers a message the transport skipped (err: ErrMessageTooLarge or ErrServerBusy,
// possibly a RefusedError carrying the message's head) with the request's id when the head
// shows it, id null otherwise. The answer is written off the read loop, holding a call slot
// like any request, so that a peer that is still writing does not block reading. It reports
// false if the session is closed.
func (r *reader) refuse(err error) bool {
	e := errBusy
	if errors.Is(err, ErrMessageTooLarge) {
		e = r.s.errTooLarge()
	}
	var id []byte
	if re := (*RefusedError)(nil); errors.As(err, &re) {
		id = wire.HeadID(re.Head)
	}
	ss := r.ss
	if e == errBusy {
		ss.refused(RefusedBusy)
	} else {
		ss.refused(RefusedMessageTooLarge)
	}
	if !ss.acquire() {
		return false
	}
	go func() {
		defer ss.release()
		ss.sendError(nil, id, e)
	}()
	return true
}

// drain is the end of input (io.EOF): the peer ended its side, so the calls already received
// are answered, unless the transport tells that the peer is gone altogether (nobody is left to
// read the answers): then they are cancelled.
func (r *reader) drain() {
	var gone <-chan struct{}
	if h, ok := r.conn.(HangupNotifier); ok {
		gone = h.PeerGone()
	}
	select {
	case <-r.ss.calls.zero():
	case <-gone:
		r.ss.cancel()
		r.ss.wait()
	}
}
