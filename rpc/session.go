package rpc

import (
	"context"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Session is the server side of one connection. Transports that read messages themselves (see
// [Server.ServeConn] for those that do not) create one with [Server.NewSession], feed it each
// incoming message with Handle, and Close it when the connection ends.
//
// A session runs at most Options.MaxConcurrentCalls messages at once; Handle waits for a free
// slot. Every method called through it gets a context that is cancelled when the
// session closes, when the server stops, and at the call's timeout.
type Session struct {
	srv    *Server
	opts   ConnOptions
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{} // nil: unlimited
	calls  callCounter
	out    writer
	sent   atomic.Uint64 // messages written or being written (the reader's hand-over probe)
	info   ConnInfo      // what middlewares and hooks see of the connection

	subsMu sync.Mutex
	subs   *subscriptions.Conn // nil until the first subscribe

	cancels    cancels                // calls that a cancel notification can reach (cancel.go)
	closeAsked atomic.Pointer[string] // a middleware asked to close the session, for this reason
	expiry     *time.Timer            // closes the session when its principal expires; or nil
	back       *backCalls             // calls to the client (callclient.go); nil unless TwoWay
	streams    upstreams              // client streams (upstream.go)

	closeOnce sync.Once
}

// NewSession attaches a connection to the server. Answers and notifications for it go to w,
// which may also be a [Flusher], a [ReasonCloser] and an io.Closer (see rpc/transport.go). The
// session's calls are cancelled when ctx is done. It fails with [ErrServerStopped] once the
// server is stopping.
func (s *Server) NewSession(ctx context.Context, opts ConnOptions, w MessageWriter) (*Session, error) {
	ss := &Session{srv: s, opts: opts}
	ss.info = ConnInfo{ID: connIDs.Add(1), Peer: opts.Peer, Principal: opts.Principal, Since: time.Now()}
	ss.ctx, ss.cancel = lazyCancel(ctx, sessionKey{}, ss)
	if s.cfg.maxConcurrent != unlimited {
		ss.sem = make(chan struct{}, s.cfg.maxConcurrent)
	}
	ss.out.init(w, opts.ConcurrentWrites)
	if opts.TwoWay {
		ss.back = newBackCalls(&s.cfg)
	}
	if err := s.addSession(ss); err != nil {
		ss.cancel()
		return nil, err
	}
	if f := s.cfg.hooks.ConnOpened; f != nil {
		f(&ss.info)
	}
	if exp := opts.PrincipalExpires; !exp.IsZero() {
		t := time.AfterFunc(time.Hour, func() { ss.shut(ReasonAuthExpired, true) })
		t.Stop()
		ss.expiry = t // before the timer can run
		t.Reset(time.Until(exp))
	}
	return ss, nil
}

// Close cancels the session's calls, closes its writer (if it is an io.Closer) and ends its
// subscriptions. It does not wait for calls still running; the server's Stop does. Close is
// idempotent.
func (ss *Session) Close() error { return ss.shut("", false) }

// shut closes the session, once, for reason ("": the peer or the transport ended it), which
// Hooks.ConnClosed is told and, if tell and the writer can, the peer too (a WebSocket close
// frame).
func (ss *Session) shut(reason string, tell bool) error {
	var err error
	ss.closeOnce.Do(func() {
		ss.cancel()
		ss.srv.removeSession(ss)
		if ss.expiry != nil {
			ss.expiry.Stop()
		}
		if c, ok := ss.out.w.(ReasonCloser); ok && tell && reason != "" {
			err = c.CloseWithReason(reason)
		} else if c, ok := ss.out.w.(io.Closer); ok {
			err = c.Close()
		}
		ss.closeSubs()
		if f := ss.srv.cfg.hooks.ConnClosed; f != nil {
			if reason == "" && ss.srv.isStopping() {
				reason = ReasonServerStopped
			}
			f(&ss.info, reason)
		}
	})
	return err
}

// wait waits until the session's calls have returned.
func (ss *Session) wait() { <-ss.calls.zero() }

// allowed reports whether the session exposes namespace. The list is searched, not made into
// a set: exposure lists are short, and an HTTP request is a session of its own.
func (ss *Session) allowed(namespace string) bool {
	ns := ss.opts.Namespaces
	return ns == nil || namespace == rpcNamespace || slices.Contains(ns, namespace)
}

// acquire takes a call slot, waiting while the session is at its limit.
func (ss *Session) acquire() bool { return ss.acquireOr(nil) }

// acquireOr is acquire that also gives up when stop is closed.
func (ss *Session) acquireOr(stop <-chan struct{}) bool {
	if ss.ctx.Err() != nil {
		return false
	}
	ss.calls.add()
	ss.srv.inflight.add()
	if ss.sem == nil {
		return true
	}
	select {
	case ss.sem <- struct{}{}:
		return true
	default:
	}
	select {
	case ss.sem <- struct{}{}:
		return true
	case <-ss.ctx.Done():
	case <-stop:
	}
	ss.calls.done()
	ss.srv.inflight.done()
	return false
}

func (ss *Session) release() {
	if ss.sem != nil {
		<-ss.sem
	}
	ss.calls.done()
	ss.srv.inflight.done()
}

// deadline returns when a message that starts now must be answered, if ever.
func (ss *Session) deadline() (time.Time, bool) {
	dl, ok := ss.ctx.Deadline()
	if d := ss.opts.Deadline; !d.IsZero() && (!ok || d.Before(dl)) {
		dl, ok = d, true
	}
	if t := ss.srv.cfg.callTimeout; t > 0 {
		if d := time.Now().Add(t); !ok || d.Before(dl) {
			dl, ok = d, true
		}
	}
	return dl, ok
}

// handleNow is Handle for a sender that waits however long the message takes.
func (ss *Session) handleNow(msg []byte) error {
	if ss.back != nil && ss.back.n.Load() > 0 && ss.tryAnswer(msg) {
		return nil // an answer to a call to the client: no call slot (see callclient.go)
	}
	if !ss.acquire() {
		return ErrClosed
	}
	dl, timed := ss.deadline()
	if !timed {
		defer ss.release()
		ss.process(ss.ctx, msg, nil)
		return nil
	}
	if ss.opts.InlineTimedCalls {
		defer ss.release()
		ss.processTimed(ss.ctx, msg, dl, ss.newAnswer())
		return nil
	}
	a := ss.newAnswer()
	msg = append([]byte(nil), msg...) // the call may outlive Handle
	ss.srv.workers.run(func() {
		defer ss.release()
		ss.processTimed(ss.ctx, msg, dl, a)
	})
	ss.await(a)
	return nil
}

// await waits until the answer a is done, or the session is closed.
func (ss *Session) await(a *answer) {
	select {
	case <-a.done:
	case <-ss.ctx.Done():
		if ss.ctx.Err() == context.DeadlineExceeded {
			// The message's own deadline is no later than the session's: its timeout answer
			// is being written now, and a.done closes as soon as it is.
			<-a.done
		}
	}
}

// Handle processes one incoming message (a request or a batch) and returns once it has been
// answered, or once it has run if it needs no answer. It returns [ErrClosed] if the session is
// closed. ctx is the sender's: when it can end (an in-process client whose call has a context
// that can end), Handle returns with ctx's error as soon as it ends, and the message's calls are
// cancelled (answered -32800 "request cancelled", which nobody waits for); a sender that waits
// however long the message takes (an HTTP request, whose session's context carries the
// request's) passes context.Background().
//
// An answer to one of the server's calls to the client (see [CallClient]) is routed at once,
// without waiting for a call slot.
//
// Handle reads msg only until it returns: the caller may reuse msg then. With a ctx that cannot
// end, the message runs on the calling goroutine unless a deadline applies
// (Options.CallTimeout, ConnOptions.Deadline, a deadline of the session's context): then it
// runs on a worker, with a copy of msg, and Handle returns at the deadline with the timeout
// answer written while the call finishes in the background. With
// [ConnOptions].InlineTimedCalls, a timed message runs on the calling goroutine too, and Handle
// returns once its calls have returned. With a ctx that can end, the message runs on a worker
// with a copy of msg; a cancel notification on the session (Options.CancelMethod) reaches it
// too.
func (ss *Session) Handle(ctx context.Context, msg []byte) error {
	if ctx.Done() == nil {
		return ss.handleNow(msg)
	}
	return ss.handleCtx(ctx, msg)
}

// handleCtx is Handle for a sender whose ctx can end.
func (ss *Session) handleCtx(ctx context.Context, msg []byte) error {
	if ss.back != nil && ss.back.n.Load() > 0 && ss.tryAnswer(msg) {
		return nil
	}
	if !ss.acquireOr(ctx.Done()) {
		if err := ctx.Err(); err != nil && ss.ctx.Err() == nil {
			return err
		}
		return ErrClosed
	}
	mc := ss.newMsgCtx(true)
	mc.also = ctx // followed only once the method looks at its context
	a := ss.newAnswer()
	dl, timed := ss.deadline()
	msg = append([]byte(nil), msg...) // the call may outlive Handle
	ss.srv.workers.run(func() {
		defer ss.release()
		if timed {
			ss.processTimed(mc, msg, dl, a)
		} else {
			ss.process(mc, msg, nil)
			a.close()
		}
		ss.endMsgCtx(mc)
	})
	select {
	case <-a.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-ss.ctx.Done():
		if ss.ctx.Err() == context.DeadlineExceeded { // as in await
			select {
			case <-a.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// dispatch processes msg on a worker and returns at once, after waiting for a call slot; it
// reports false if the session is closed. The worker calls done(msg), if done is not nil, once
// msg has been processed; msg must not change until then.
func (ss *Session) dispatch(msg []byte, done func([]byte)) bool {
	if !ss.acquire() {
		return false
	}
	ss.srv.workers.run(func() {
		defer ss.release()
		ss.runOwn(msg)
		if done != nil {
			done(msg)
		}
	})
	return true
}

// run processes msg on this goroutine with ctx, with the deadline that applies to it, if any.
func (ss *Session) run(ctx context.Context, msg []byte) {
	if dl, timed := ss.deadline(); timed {
		ss.processTimed(ctx, msg, dl, ss.newAnswer())
	} else {
		ss.process(ctx, msg, nil)
	}
}

// runOwn is run with a context of msg's own, which a cancel notification can reach (see
// cancel.go): for a message that runs while the connection is read.
func (ss *Session) runOwn(msg []byte) {
	if !ss.cancelOn() {
		ss.run(ss.ctx, msg)
		return
	}
	mc := ss.newMsgCtx(true)
	ss.run(mc, msg)
	ss.endMsgCtx(mc)
}

// processTimed runs process with a deadline (ctx: the message's context, which the deadline's
// is made from); when it passes first, the unanswered calls are answered -32002 and the late
// answers are dropped.
func (ss *Session) processTimed(ctx context.Context, msg []byte, dl time.Time, a *answer) {
	expired := a.expire
	var done func()
	if sdl, ok := ctx.Deadline(); ok && sdl.Equal(dl) {
		stop := context.AfterFunc(ctx, func() {
			if ctx.Err() == context.DeadlineExceeded {
				expired()
			}
		})
		done = func() { stop() }
	} else {
		// A deadline the session's context does not carry (ConnOptions.Deadline, as HTTP's,
		// or a call timeout): from the server's shared deadline timer, which runs expired
		// itself, without a context.AfterFunc.
		ctx, done = ss.srv.deadlines.with(ctx, dl, expired)
	}
	ss.process(ctx, msg, a)
	done()
	a.close()
}

// send writes a finished message (without its newline) unless a deadline answered first (a
// not nil). It reports whether msg was written.
func (ss *Session) send(a *answer, msg []byte) bool {
	msg = append(msg, '\n')
	if a == nil {
		return ss.write(msg)
	}
	return a.send(msg)
}

// write sends one message; a connection that cannot be written is broken, so it is closed
// (which also cancels its calls and ends a read waiting on it). It reports success.
func (ss *Session) write(msg []byte) bool {
	ss.sent.Add(1) // before the write: the peer cannot react to msg before this is seen
	if err := ss.out.send(msg); err != nil {
		ss.shut("write failed: "+err.Error(), false)
		return false
	}
	return true
}
