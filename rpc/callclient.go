package rpc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// Calls from the server to its client (server callbacks). A connection that carries messages
// both ways (WebSocket, IPC, in-process: [ConnOptions].TwoWay) lets a method call a method
// that the client serves, with [CallClient], or notify it, with [NotifyClient]. The server's
// requests carry ids of its own, strings "s1", "s2", … counted per connection, and the
// session routes the answers that come back (objects with a result or an error and no
// method) to the calls waiting for them:
//
//   - an answer is routed without a call slot, before the message would wait for one, so that
//     a connection whose slots are all held by methods waiting for their client still reads
//     the answers that release them; middlewares do not see answers (Hooks.Refused sees the
//     ones dropped);
//   - an answer whose id names no call waiting (unknown, late, answered twice, in a batch) is
//     dropped and logged at debug level, with [RefusedStrayAnswer] for Hooks.Refused, except
//     the late answer to one of the latest calls given up on (see cancelBack), which is
//     expected and only logged;
//   - a call that waits while its method runs on the goroutine reading the connection moves
//     reading to another goroutine first, so that its answer is read at once.

// ErrNoCallback is returned (wrapped, with the reason) by [CallClient] and [NotifyClient] when
// there is no way back to the client: the connection is HTTP, or the context is not that of a
// call to a server.
var ErrNoCallback = errors.New("rpc: no way back to the client")

// DefaultCallbackTimeout is the default of Options.CallbackTimeout.
const DefaultCallbackTimeout = 30 * time.Second

// backCalls is a session's calls to its client waiting for their answers.
//
// Invariants: n is len(pending), stored under mu, so that the reader looks for answers only
// while a call waits; a call holds a slot (when slots is not nil) from before it is written
// until it returns.
type backCalls struct {
	slots   chan struct{} // nil: unlimited
	timeout time.Duration
	n       atomic.Int64
	handOff func() // moves reading off a goroutine running a message inline (ServeConn); or nil

	mu      sync.Mutex
	next    uint64
	pending map[uint64]*pendingCall
	// gone holds the latest lateCalls calls given up on (a ring, made on first use): their
	// late answers are expected.
	gone  []uint64
	ngone int
}

func newBackCalls(cfg *config) *backCalls {
	b := &backCalls{timeout: cfg.callbackTimeout, pending: make(map[uint64]*pendingCall)}
	if cfg.maxCallbacks != unlimited {
		b.slots = make(chan struct{}, cfg.maxCallbacks)
	}
	return b
}

func (b *backCalls) add(pc *pendingCall) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.pending[b.next] = pc
	b.n.Store(int64(len(b.pending)))
	return b.next
}

// giveUp removes the call id, whose caller stopped waiting, and remembers it for a while: the
// client may still answer it (a polyrpc client answers -32800 to the cancel notification).
func (b *backCalls) giveUp(id uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.remove(id)
	if b.gone == nil {
		b.gone = make([]uint64, lateCalls) // most connections never give up on a call
	}
	b.gone[b.ngone%lateCalls] = id
	b.ngone++
}

// lateCalls is how many of the calls given up on a session remembers.
const lateCalls = 8

// late reports whether id is one of the latest calls given up on. Ids start at 1: the ring's
// empty slots match none.
func (b *backCalls) late(id uint64) bool {
	if id == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, g := range b.gone {
		if g == id {
			return true
		}
	}
	return false
}

// take removes and returns the call waiting for id, or nil.
func (b *backCalls) take(id uint64) *pendingCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.remove(id)
}

// remove is take with mu held.
func (b *backCalls) remove(id uint64) *pendingCall {
	pc := b.pending[id]
	if pc != nil {
		delete(b.pending, id)
		b.n.Store(int64(len(b.pending)))
	}
	return pc
}

// CallClient calls method on the client of the connection that ctx's call came in on (ctx is
// the context the server gave the method, or one made from it), with positional params args,
// and decodes the result into result, a pointer (or nil to discard it). The client answers
// with the methods it serves ([Client.Register], web/jsonrpc.js's handle).
//
// The call waits at most until ctx's deadline, or Options.CallbackTimeout (30 s) when ctx has
// none; ctx's end and the timeout return an error wrapping ctx's error, and send the client
// the cancel notification (Options.CancelMethod) with the call's id, so that a polyrpc client
// stops the method. An error answer is returned as *[Error] with the client's code, message
// and data (Code [CodeMethodNotFound] when the client does not serve method). A connection that closes before the answer returns
// an error wrapping [ErrConnectionLost]; an HTTP connection, which has no way back, an error
// wrapping [ErrNoCallback]. At most Options.MaxCallbacks calls per connection wait for their
// answers at once: the next waits for one of them to return, until its ctx ends.
//
// A subscription's producer that outlives its subscribe call may call its client with
// context.WithoutCancel of the subscription method's context: the call then ends with the
// connection or at the timeout.
func CallClient(ctx context.Context, result any, method string, args ...any) error {
	ss, err := backSession(ctx)
	if err != nil {
		return err
	}
	return ss.callClient(ctx, result, method, args)
}

// NotifyClient sends the client of the connection that ctx's call came in on a notification
// of method with positional params args: nothing is answered. It returns once the
// notification is written, with an error wrapping [ErrConnectionLost] if it could not be,
// and one wrapping [ErrNoCallback] where there is no way back (HTTP).
func NotifyClient(ctx context.Context, method string, args ...any) error {
	ss, err := backSession(ctx)
	if err != nil {
		return err
	}
	bp := getBuf()
	defer putBuf(bp)
	buf, err := appendRequest(*bp, 0, false, method, args, nil)
	*bp = buf
	if err != nil {
		return err
	}
	*bp = append(buf, '\n')
	if !ss.write(*bp) {
		return fmt.Errorf("%w: the notification %s could not be written", ErrConnectionLost, method)
	}
	return nil
}

// backSession returns the session of ctx's call if it can call its client.
func backSession(ctx context.Context) (*Session, error) {
	ss := sessionFromContext(ctx)
	switch {
	case ss == nil:
		return nil, fmt.Errorf("%w: the context is not that of a call to a server", ErrNoCallback)
	case ss.back == nil:
		t := ss.opts.Peer.Transport
		if t == "" {
			t = "this"
		}
		return nil, fmt.Errorf("%w: the %s transport carries no calls from the server to the client", ErrNoCallback, t)
	case ss.ctx.Err() != nil:
		return nil, fmt.Errorf("%w: the connection is closed", ErrConnectionLost)
	}
	return ss, nil
}

// callClient is CallClient on the session ss.
func (ss *Session) callClient(ctx context.Context, result any, method string, args []any) error {
	b := ss.back
	// expired ends the call at the default timeout when ctx has no deadline: a context of the
	// server's shared deadline timer (no timer armed per call) that follows nothing, so that
	// waiting on it links it to no parent; nil otherwise.
	var expired <-chan struct{}
	timeout := time.Duration(0)
	if _, ok := ctx.Deadline(); !ok && b.timeout > 0 {
		tctx, cancel := ss.srv.deadlines.with(context.Background(), time.Now().Add(b.timeout), nil)
		defer cancel()
		expired, timeout = tctx.Done(), b.timeout
	}
	if b.slots != nil {
		select {
		case b.slots <- struct{}{}:
		default:
			select {
			case b.slots <- struct{}{}:
			case <-ctx.Done():
				return ss.backFailed(ctx, method, 0, "waiting for one of the connection's Options.MaxCallbacks")
			case <-expired:
				return ss.backFailed(ctx, method, timeout, "waiting for one of the connection's Options.MaxCallbacks")
			case <-ss.ctx.Done():
				return ss.backFailed(ctx, method, 0, "")
			}
		}
		defer func() { <-b.slots }()
	}
	pc := &pendingCall{result: result, done: make(chan struct{})}
	id := b.add(pc)
	defer b.take(id)
	bp := getBuf()
	defer putBuf(bp)
	buf := append(*bp, `{"jsonrpc":"2.0","id":"s`...)
	buf = strconv.AppendUint(buf, id, 10)
	buf = append(buf, `",`...)
	buf, err := appendCall(buf, method, args, nil)
	*bp = buf
	if err != nil {
		return err
	}
	*bp = append(buf, '\n')
	if b.handOff != nil {
		b.handOff()
	}
	if !ss.write(*bp) {
		return fmt.Errorf("%w: the call to %s could not be written", ErrConnectionLost, method)
	}
	select {
	case <-pc.done:
		return pc.finish(nil)
	case <-ctx.Done():
		timeout = 0
	case <-expired:
	case <-ss.ctx.Done(): // ctx may not follow the session's (context.WithoutCancel)
		timeout = 0
	}
	b.giveUp(id) // from here an answer is late: the one the cancel brings back must not win
	ss.cancelBack(id)
	return pc.finish(ss.backFailed(ctx, method, timeout, "")) // the answer, if it came meanwhile
}

// cancelBack tells the client that the server gave up on its call id: the server's cancel
// notification (Options.CancelMethod, {"id":"sN"}), which a polyrpc Client serving the method
// takes as the server's own clients' cancellations are taken, ending the method's context. A
// client that knows no such notification ignores it, as JSON-RPC 2.0 has it; an answer that
// still comes is dropped, not counted as stray (the session remembers the latest such calls). Nothing is sent with cancellation off or once
// the connection is closed.
func (ss *Session) cancelBack(id uint64) {
	q := ss.srv.cfg.cancelQuoted
	if q == nil || ss.ctx.Err() != nil {
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	buf := append(*bp, `{"jsonrpc":"2.0","method":`...)
	buf = append(buf, q...)
	buf = append(buf, `,"params":{"id":"s`...)
	buf = strconv.AppendUint(buf, id, 10)
	*bp = append(buf, "\"}}\n"...)
	ss.write(*bp)
}

// backFailed words the end of a call to the client: the connection closed, the default
// timeout passed (timeout, when not 0), or ctx's deadline or cancellation (while waiting, if not
// "", for what).
func (ss *Session) backFailed(ctx context.Context, method string, timeout time.Duration, waiting string) error {
	if ss.ctx.Err() != nil {
		return fmt.Errorf("%w: the connection closed before the client answered %s", ErrConnectionLost, method)
	}
	err := ctx.Err()
	why := "the call's context ended"
	if timeout > 0 {
		err = context.DeadlineExceeded
		why = "the client did not answer within " + timeout.String() + " (Options.CallbackTimeout)"
	}
	if waiting != "" {
		why += " " + waiting
	}
	return fmt.Errorf("rpc: call to the client's %s: %s: %w", method, why, err)
}

// RefusedStrayAnswer is the reason [Hooks].Refused is given for an answer the server dropped
// because it matches none of its calls to the client waiting for one (see [CallClient]).
const RefusedStrayAnswer = "stray answer"

// tryAnswer routes msg if it is an answer, and reports whether it was: the reader's check, made
// before a call slot is taken, while calls to the client wait.
func (ss *Session) tryAnswer(msg []byte) bool {
	i := wire.SkipSpace(msg, 0)
	if i == len(msg) || msg[i] != '{' {
		return false
	}
	r, err := parseResponse(msg[i:])
	if err != nil || r.method != nil || (r.result == nil && r.errObj == nil) {
		return false
	}
	ss.routeAnswer(r)
	return true
}

// takeAnswer routes msg, an object that process found to be an answer (no method; a result or
// an error).
func (ss *Session) takeAnswer(msg []byte) {
	r, err := parseResponse(msg)
	if err != nil {
		ss.strayAnswer(nil, "unreadable")
		return
	}
	ss.routeAnswer(r)
}

// routeAnswer hands the answer r to the call waiting for it, or drops it.
func (ss *Session) routeAnswer(r response) {
	var pc *pendingCall
	id, ok := backID(r.id)
	if ok && ss.back != nil {
		pc = ss.back.take(id)
	}
	if pc == nil {
		if ok && ss.back != nil && ss.back.late(id) {
			// The answer to a call given up on, expected after the cancel notification: not
			// a stray one.
			ss.srv.cfg.log.Debug("rpc: dropped a late answer", "id", string(r.id), "transport", ss.opts.Peer.Transport)
			return
		}
		ss.strayAnswer(r.id, "no call to the client waits for it")
		return
	}
	if r.result != nil && r.errObj != nil {
		ss.srv.cfg.log.Warn("rpc: a client answered with both a result and an error", "id", string(r.id), "transport", ss.opts.Peer.Transport)
		pc.finish(errBadAnswer)
		return
	}
	pc.answer(0, r)
}

var errBadAnswer = errors.New("rpc: the client's answer is malformed: it has both a result and an error")

// strayAnswer drops an answer that no call waits for.
func (ss *Session) strayAnswer(id []byte, why string) {
	ss.srv.cfg.log.Debug("rpc: dropped an answer", "id", string(id), "why", why, "transport", ss.opts.Peer.Transport)
	ss.refused(RefusedStrayAnswer)
}

// backID reads the id of a call to the client: the JSON string "sN".
func backID(raw []byte) (uint64, bool) {
	if len(raw) < 4 || raw[0] != '"' || raw[1] != 's' || raw[len(raw)-1] != '"' {
		return 0, false
	}
	return parseUint(raw[2 : len(raw)-1])
}
