package rpc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrConnectionLost is the error (wrapped, with the cause) of calls whose connection failed
// before they were answered: the server may or may not have run them. A reconnecting client
// also returns it, with the context's error, for a call whose context ended while it waited
// for the connection to come back.
var ErrConnectionLost = errors.New("rpc: connection lost")

// errConnReplaced fails a call meant for one connection (an unsubscribe, a resubscribe) once
// the client has lost it.
var errConnReplaced = fmt.Errorf("%w: the call was for an earlier connection", ErrConnectionLost)

// Defaults of [ReconnectOptions].
const (
	DefaultReconnectMinDelay    = 100 * time.Millisecond
	DefaultReconnectMaxDelay    = 10 * time.Second
	DefaultReconnectDialTimeout = 10 * time.Second
)

// resubscribeTimeout bounds the subscribe calls that resume subscriptions after a reconnect.
const resubscribeTimeout = 10 * time.Second

// ReconnectOptions configures [NewReconnectingClient]. The zero value of each field gives the
// default documented on it.
type ReconnectOptions struct {
	// MinDelay is the wait before the first redial after the connection is lost; each failed
	// redial doubles it, up to MaxDelay. Every wait is drawn at random between half the delay
	// and the delay (jitter, so that many clients of one server do not redial in step).
	// Defaults: 100 ms and 10 s.
	MinDelay, MaxDelay time.Duration

	// DialTimeout bounds each redial. Default 10 s.
	DialTimeout time.Duration

	// OnConnState, when set, is told each change of the connection: lost, each failed redial
	// and each reconnect (see [ConnEvent]). It is called from the client's reconnecting
	// goroutine, one event at a time; it must return quickly and must not call the client's
	// Close (which waits for that goroutine): to give up, call Close on another goroutine.
	OnConnState func(ConnEvent)
}

// ConnEvent is a change of a reconnecting client's connection, given to
// [ReconnectOptions.OnConnState].
type ConnEvent struct {
	// Up is true when the client has reconnected and its subscriptions have been subscribed
	// again; false when the connection was lost (Attempt 0) or a redial failed.
	Up bool
	// Attempt counts the redials since the connection was lost: 0 when it was just lost; n when
	// the nth redial failed (Up false) or succeeded (Up true).
	Attempt int
	// Err is why the connection was lost or the redial failed; nil when Up.
	Err error
	// Delay is the wait before the next redial; 0 when Up.
	Delay time.Duration
}

// NewReconnectingClient returns a client over the connection that dial opens, and opens a
// new one whenever it fails: after a wait that doubles with each failed attempt, with jitter
// (see [ReconnectOptions]), until it succeeds or the client is closed. dial is called with ctx
// first (an error there is returned), then with a context bounded by opts.DialTimeout and
// ended by Close; it must return once its context ends. A nil opts gives the defaults. The transports' dialers build it: see wsrpc.DialOptions.Reconnect,
// ipc.DialWith and transports.Options.Reconnect.
//
// While the connection is down:
//
//   - calls that were sent and not answered fail with an error wrapping [ErrConnectionLost]
//     (the server may or may not have run them);
//   - new calls wait for the reconnect, up to the end of their context (then they fail with
//     an error wrapping ErrConnectionLost and the context's error);
//   - subscriptions stay open: once reconnected, before new calls go out, the client subscribes
//     each one again and goes on delivering on the same channel.
//
// A subscription whose server sent positions (a subscriptions.Feed: the notices
// NS_subscriptionPosition) is subscribed again with the subscribe call's arguments and the
// last position received as one more argument, which a resumable subscription method takes as
// its trailing *subscriptions.Position (when the last argument given to Subscribe was a
// subscriptions.Position or *subscriptions.Position, the position replaces it). The server
// then sends every notification after that position, and nothing is lost or repeated; when
// its history no longer reaches back that far, the subscription's Gaps channel reports a
// [GapError] and the live notifications follow. A subscription without positions is subscribed
// again with its arguments as they were and continues with what the server sends a new
// subscriber; a GapError reports that notifications may have been lost meanwhile (so does a
// Feed subscription whose first position notice, which follows the subscribe answer, had not
// arrived when the connection failed). A subscription the server refuses to subscribe again
// ends with the refusal on its Err channel.
//
// Close stops reconnecting and waits for the client's goroutines: one that reads the
// connection, and one that watches it and reconnects.
func NewReconnectingClient(ctx context.Context, dial func(context.Context) (Conn, error), opts *ReconnectOptions) (*Client, error) {
	if dial == nil {
		return nil, errors.New("rpc: NewReconnectingClient: dial is nil")
	}
	o := ReconnectOptions{}
	if opts != nil {
		o = *opts
	}
	if o.MinDelay <= 0 {
		o.MinDelay = DefaultReconnectMinDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultReconnectMaxDelay
	}
	o.MaxDelay = max(o.MaxDelay, o.MinDelay)
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultReconnectDialTimeout
	}
	conn, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	c := newClient()
	r := &reconnector{c: c, dial: dial, opts: o, done: make(chan struct{}), ready: make(chan struct{}),
		suspended: make(map[*ClientSubscription]struct{})}
	r.ctx, r.stop = context.WithCancel(context.Background())
	c.rc = r
	c.send = r.send
	c.closeConn = r.close
	cc := r.install(conn)
	r.markUp(cc)
	go r.run(cc)
	return c, nil
}

// reconnector keeps a client connected. Its goroutine (run) owns the current connection's
// reader and waits for it before it redials or returns.
type reconnector struct {
	c    *Client
	dial func(context.Context) (Conn, error)
	opts ReconnectOptions
	ctx  context.Context // ends when the client closes
	stop context.CancelFunc
	done chan struct{} // closed when run has returned

	// Guarded by c.mu.
	cur       *clientConn   // the connection; nil while down
	up        bool          // cur is open to every call (its subscriptions resumed)
	ready     chan struct{} // closed when up turns true; a new one when the connection is lost
	suspended map[*ClientSubscription]struct{}
}

// clientConn is one connection of a reconnecting client.
type clientConn struct {
	conn      Conn
	w         writer
	gone      chan struct{} // closed when its reader has returned
	serving   *Session      // serves the server's requests on it; or nil (guarded by c.mu)
	err       error         // why the reader returned; read after gone is closed
	closeOnce sync.Once
}

// send writes msg; a failed write closes the connection, so that the client reconnects.
func (cc *clientConn) send(_ context.Context, msg []byte) error {
	if err := cc.w.send(msg); err != nil {
		cc.close()
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return nil
}

func (cc *clientConn) close() { cc.closeOnce.Do(func() { cc.conn.Close() }) }

// send is the client's send for notifications (calls send on their pendingCall's connection).
func (r *reconnector) send(ctx context.Context, msg []byte) error {
	r.c.mu.Lock()
	cc, err := r.connLocked(ctx, nil)
	r.c.mu.Unlock()
	if err != nil {
		return err
	}
	return cc.send(ctx, msg)
}

// connLocked returns the connection a call goes out on (c.mu held): want, when set, if it is
// still the client's connection; otherwise the client's connection once it is up, waiting for
// that until ctx ends.
func (r *reconnector) connLocked(ctx context.Context, want *clientConn) (*clientConn, error) {
	c := r.c
	if want != nil {
		if c.err == nil && r.cur != want {
			return nil, errConnReplaced
		}
		return want, c.err
	}
	for c.err == nil && !r.up {
		ready := r.ready
		c.mu.Unlock()
		var err error
		select {
		case <-ready:
		case <-c.closed:
		case <-ctx.Done():
			err = fmt.Errorf("%w: not reconnected before the call's context ended: %w", ErrConnectionLost, ctx.Err())
		}
		c.mu.Lock()
		if err != nil {
			return nil, err
		}
	}
	return r.cur, c.err
}

// install makes conn the client's connection and starts its reader; nil if the client has
// closed (conn is closed then).
func (r *reconnector) install(conn Conn) *clientConn {
	cc := &clientConn{conn: conn, gone: make(chan struct{})}
	cc.w.init(conn, false)
	c := r.c
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		conn.Close()
		return nil
	}
	r.cur = cc
	c.mu.Unlock()
	go r.read(cc)
	return cc
}

// markUp opens cc to every call; false if cc is lost already or the client has closed.
func (r *reconnector) markUp(cc *clientConn) bool {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || r.cur != cc {
		return false
	}
	r.up = true
	close(r.ready)
	return true
}

// read reads cc until it fails, then fails what waits on it for answers.
func (r *reconnector) read(cc *clientConn) {
	defer close(cc.gone)
	for {
		msg, err := cc.conn.ReadMessage()
		if err != nil {
			cc.err = err
			r.lost(cc, err)
			return
		}
		r.c.receiveOn(cc, msg)
	}
}

// lost takes cc out of service: its calls waiting for answers fail with ErrConnectionLost, new
// calls wait, and its subscriptions wait to be subscribed again.
func (r *reconnector) lost(cc *clientConn, cause error) {
	c := r.c
	c.mu.Lock()
	if c.err != nil || r.cur != cc {
		c.mu.Unlock()
		return
	}
	r.cur = nil
	if r.up {
		r.up, r.ready = false, make(chan struct{})
	}
	pending := c.pending
	c.pending = make(map[uint64]*pendingCall)
	for _, cs := range c.subs {
		r.suspended[cs] = struct{}{}
	}
	c.subs = nil
	serving := cc.serving
	c.mu.Unlock()
	endServing(serving)
	err := fmt.Errorf("%w: %w", ErrConnectionLost, cause)
	for _, pc := range pending {
		pc.finish(err)
	}
}

// close stops reconnecting and waits for the goroutines; it is the client's closeConn.
func (r *reconnector) close() error {
	r.stop()
	<-r.done
	return nil
}

// run watches the connection and reconnects when it is lost, until the client closes.
func (r *reconnector) run(cc *clientConn) {
	defer close(r.done)
	for r.wait(cc) {
		if cc = r.redial(cc.err); cc == nil {
			return
		}
	}
}

// wait waits for cc's reader to return and reports whether cc was lost (true) or the client
// closed (false; cc is closed then).
func (r *reconnector) wait(cc *clientConn) bool {
	select {
	case <-cc.gone:
		if r.ctx.Err() == nil {
			return true
		}
	case <-r.ctx.Done():
	}
	cc.close()
	<-cc.gone
	return false
}

// redial opens a new connection after backoff, resumes the subscriptions on it and opens it to
// every call. It returns nil when the client closes first.
func (r *reconnector) redial(cause error) *clientConn {
	for attempt := 1; ; attempt++ {
		delay := r.delay(attempt)
		r.event(ConnEvent{Attempt: attempt - 1, Err: cause, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return nil
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.opts.DialTimeout)
		conn, err := r.dial(ctx)
		cancel()
		if err != nil {
			if r.ctx.Err() != nil {
				return nil
			}
			cause = err
			continue
		}
		cc := r.install(conn)
		if cc == nil {
			return nil
		}
		r.resubscribe(cc)
		if r.markUp(cc) {
			r.event(ConnEvent{Up: true, Attempt: attempt})
			return cc
		}
		if !r.wait(cc) { // lost again while resubscribing, or closed
			return nil
		}
		cause = cc.err
	}
}

// delay is the wait before redial attempt n (from 1): MinDelay doubled n-1 times, at most
// MaxDelay, then drawn between half of that and all of it.
func (r *reconnector) delay(n int) time.Duration {
	d := r.opts.MinDelay
	for i := 1; i < n && d < r.opts.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, r.opts.MaxDelay)
	return d/2 + rand.N(d/2+1)
}

func (r *reconnector) event(ev ConnEvent) {
	if r.opts.OnConnState != nil {
		r.opts.OnConnState(ev)
	}
}
