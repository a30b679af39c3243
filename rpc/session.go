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
// incoming message with Handle or Dispatch, and Close it when the connection ends.
//
// A session runs at most Options.MaxConcurrentCalls messages at once; Handle and Dispatch wait
// for a free slot. Every method called through it gets a context that is cancelled when the
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
	since  time.Time

	subsMu sync.Mutex
	subs   *subscriptions.Conn // nil until the first subscribe

	closeOnce sync.Once
}

// NewSession attaches a connection to the server. Answers and notifications for it go to w.
// The session's calls are cancelled when ctx is done. It fails with [ErrServerStopped] once the
// server is stopping.
func (s *Server) NewSession(ctx context.Context, opts ConnOptions, w MessageWriter) (*Session, error) {
	ss := &Session{srv: s, opts: opts, since: time.Now()}
	ss.ctx, ss.cancel = lazyCancel(ctx, sessionKey{}, ss)
	if s.cfg.maxConcurrent != unlimited {
		ss.sem = make(chan struct{}, s.cfg.maxConcurrent)
	}
	ss.out.init(w)
	if err := s.addSession(ss); err != nil {
		ss.cancel()
		return nil, err
	}
	return ss, nil
}

// Close cancels the session's calls, closes its writer (if it is an io.Closer) and ends its
// subscriptions. It does not wait for calls still running; the server's Stop does. Close is
// idempotent.
func (ss *Session) Close() error { return ss.closeWithReason("") }

// closeWithReason is Close telling the peer why, when the writer can (a WebSocket close frame).
func (ss *Session) closeWithReason(reason string) error {
	var err error
	ss.closeOnce.Do(func() {
		ss.cancel()
		ss.srv.removeSession(ss)
		if c, ok := ss.out.w.(interface{ CloseWithReason(string) error }); ok && reason != "" {
			err = c.CloseWithReason(reason)
		} else if c, ok := ss.out.w.(io.Closer); ok {
			err = c.Close()
		}
		ss.closeSubs()
	})
	return err
}

// Wait waits until the session's calls have returned.
func (ss *Session) Wait() { <-ss.calls.zero() }

// allowed reports whether the session exposes namespace. The list is searched, not made into
// a set: exposure lists are short, and an HTTP request is a session of its own.
func (ss *Session) allowed(namespace string) bool {
	ns := ss.opts.Namespaces
	return ns == nil || namespace == rpcNamespace || slices.Contains(ns, namespace)
}

// acquire takes a call slot, waiting while the session is at its limit.
func (ss *Session) acquire() bool {
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
		ss.calls.done()
		ss.srv.inflight.done()
		return false
	}
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

// Handle processes one incoming message (a request or a batch) and returns once its answer has
// been written, or once it has run if it needs no answer. It runs the call on the calling
// goroutine unless a timeout applies, in which case it returns at the timeout with the timeout
// error written and the call finishing in the background — or, when the session's writer has an
// InlineTimeouts() bool method that returns true, it still runs the call on the calling
// goroutine and returns when the call has returned, the timeout error having been written
// (from a timer's goroutine) at the deadline: the writer then sends it on its own. msg is not
// retained after Handle returns. It returns [ErrClosed] if the session is closed.
func (ss *Session) Handle(msg []byte) error { return ss.handle(msg, false) }

// HandleOwned is Handle for a message the session may keep until its call has finished, even
// after HandleOwned has returned at a timeout: the caller must not modify or reuse msg until
// then. It saves Handle's copy of msg when a timeout applies.
func (ss *Session) HandleOwned(msg []byte) error { return ss.handle(msg, true) }

func (ss *Session) handle(msg []byte, owned bool) error {
	if !ss.acquire() {
		return ErrClosed
	}
	dl, timed := ss.deadline()
	if !timed {
		defer ss.release()
		ss.process(ss.ctx, msg, nil)
		return nil
	}
	if ss.out.inline {
		defer ss.release()
		ss.processTimed(msg, dl, ss.newAnswer())
		return nil
	}
	a := ss.newAnswer()
	if !owned {
		msg = append([]byte(nil), msg...)
	}
	ss.srv.workers.run(func() {
		defer ss.release()
		ss.processTimed(msg, dl, a)
	})
	select {
	case <-a.done:
	case <-ss.ctx.Done():
		if ss.ctx.Err() == context.DeadlineExceeded {
			// The message's own deadline is no later than the session's: its timeout answer
			// is being written now, and a.done closes as soon as it is.
			<-a.done
		}
	}
	return nil
}

// Dispatch processes msg on a new goroutine that the session owns and returns at once (after
// waiting for a call slot). It takes ownership of msg. It returns [ErrClosed] if the session is
// closed.
func (ss *Session) Dispatch(msg []byte) error {
	if !ss.dispatch(msg, nil) {
		return ErrClosed
	}
	return nil
}

// dispatch is Dispatch calling done(msg) once msg has been processed, if done is not nil.
func (ss *Session) dispatch(msg []byte, done func([]byte)) bool {
	if !ss.acquire() {
		return false
	}
	ss.srv.workers.run(func() {
		defer ss.release()
		ss.run(msg)
		if done != nil {
			done(msg)
		}
	})
	return true
}

// run processes msg on this goroutine, with the deadline that applies to it, if any.
func (ss *Session) run(msg []byte) {
	if dl, timed := ss.deadline(); timed {
		ss.processTimed(msg, dl, ss.newAnswer())
	} else {
		ss.process(ss.ctx, msg, nil)
	}
}

// processTimed runs process with a deadline; when it passes first, the unanswered calls are
// answered -32002 and the late answers are dropped.
func (ss *Session) processTimed(msg []byte, dl time.Time, a *answer) {
	expired := func() { ss.expire(a) }
	ctx := ss.ctx
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
	a.finish()
	a.release()
}

// send writes a finished message (without its newline) unless a timeout answered first. It
// reports whether msg was written.
func (ss *Session) send(a *answer, msg []byte) bool {
	msg = append(msg, '\n')
	if a == nil {
		return ss.write(msg)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.written {
		return false
	}
	a.written = true
	ok := ss.write(msg)
	a.finishLocked()
	return ok
}

// write sends one message; a connection that cannot be written is broken, so it is closed
// (which also cancels its calls and ends a read waiting on it). It reports success.
func (ss *Session) write(msg []byte) bool {
	ss.sent.Add(1) // before the write: the peer cannot react to msg before this is seen
	if err := ss.out.send(msg); err != nil {
		ss.Close()
		return false
	}
	return true
}

// answer tracks whether a message's answer has been written, when a timeout may race with it.
type answer struct {
	mu       sync.Mutex
	written  bool
	done     chan struct{} // closed once the answer is written or known to be empty
	finished bool
	single   []byte // id of a single call still unanswered; nil otherwise
	batch    *batch // the batch being answered, if any
	expired  bool   // the deadline passed before the message said what it needs answered
	ss       *Session
}

// register records what the timeout must answer (set runs under the lock). If the deadline
// has already passed, it answers that at once and reports false: the message must not run.
func (a *answer) register(ctx context.Context, set func()) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	set()
	if !a.expired && ctx.Err() != context.DeadlineExceeded {
		return true
	}
	a.expired = false
	a.ss.expireLocked(a)
	return false
}

func (ss *Session) newAnswer() *answer { return &answer{done: make(chan struct{}), ss: ss} }

func (a *answer) finish() {
	a.mu.Lock()
	a.finishLocked()
	a.mu.Unlock()
}

func (a *answer) finishLocked() {
	if !a.finished {
		a.finished = true
		close(a.done)
	}
}

// release recycles the batch the answer tracked, once the message is processed and finish has
// run: a timeout that fires later finds the answer finished and no longer reads it.
func (a *answer) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.finished && a.batch != nil {
		a.batch.recycle()
		a.batch = nil
	}
}

// expire answers whatever is still unanswered with the timeout error.
func (ss *Session) expire(a *answer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ss.expireLocked(a)
}

func (ss *Session) expireLocked(a *answer) {
	if a.written || a.finished {
		return
	}
	switch {
	case a.batch != nil:
		if msg := a.batch.expire(); msg != nil {
			a.written = true
			ss.write(append(msg, '\n'))
		}
	case a.single != nil:
		a.written = true
		ss.write(append(appendError(nil, a.single, errTimeout), '\n'))
	default:
		// Not parsed yet: whether it needs an answer is not known. register answers it.
		a.expired = true
		return
	}
	a.finishLocked()
}
