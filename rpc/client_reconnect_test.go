package rpc_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// The reconnecting client over net.Pipe: each dial serves a new pipe with ServeStream, and a
// cut closes the server's ends. The end-to-end tests over real sockets (WebSocket and IPC)
// are in package transports.

const rcWait = 10 * time.Second // bound of every wait of these tests

var errRefused = errors.New("test: connection refused")

// pipeDialer dials srv over net.Pipe. While down, or for the next failNext dials, a dial fails.
type pipeDialer struct {
	srv *rpc.Server
	wg  sync.WaitGroup

	mu       sync.Mutex
	opts     rpc.ConnOptions
	down     bool
	failNext int
	ends     []net.Conn
}

func (d *pipeDialer) dial(ctx context.Context) (rpc.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down || d.failNext > 0 {
		d.failNext--
		return nil, errRefused
	}
	c, s := net.Pipe()
	d.ends = append(d.ends, s)
	opts := d.opts
	d.wg.Go(func() { d.srv.ServeStream(s, opts) })
	return rpc.NewStreamConn(c, 0), nil
}

// cut closes the server's ends of every connection; down tells whether dials fail from now.
func (d *pipeDialer) cut(down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = down
	for _, s := range d.ends {
		s.Close()
	}
	d.ends = nil
}

func (d *pipeDialer) setDown(down bool) {
	d.mu.Lock()
	d.down = down
	d.mu.Unlock()
}

// rcEnv is a server, a reconnecting client of it over pipes, its connection events, and a
// second, plain client (in-process) that publishes whatever the first is connected or not.
type rcEnv struct {
	srv    *rpc.Server
	d      *pipeDialer
	client *rpc.Client
	pub    *rpc.Client
	events chan rpc.ConnEvent
}

func newRCEnv(t *testing.T, opts *rpc.ReconnectOptions) *rcEnv {
	t.Helper()
	rpctest.CheckLeaks(t)
	e := &rcEnv{srv: rpctest.NewServer(t, nil), events: make(chan rpc.ConnEvent, 1000)}
	e.d = &pipeDialer{srv: e.srv, opts: rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: rpc.TransportIPC}}}
	o := rpc.ReconnectOptions{MinDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}
	if opts != nil {
		o = *opts
	}
	o.OnConnState = func(ev rpc.ConnEvent) {
		select {
		case e.events <- ev:
		default:
		}
	}
	c, err := rpc.NewReconnectingClient(context.Background(), e.d.dial, &o)
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	pub, err := inproc.Dial(e.srv)
	if err != nil {
		t.Fatal(err)
	}
	e.pub = pub
	t.Cleanup(func() {
		c.Close()
		pub.Close()
		e.srv.Stop()
		e.d.cut(true)
		e.d.wg.Wait()
	})
	return e
}

// waitEvent waits for the next connection event with Up == up, skipping others.
func (e *rcEnv) waitEvent(t *testing.T, up bool) rpc.ConnEvent {
	t.Helper()
	timeout := time.After(rcWait)
	for {
		select {
		case ev := <-e.events:
			if ev.Up == up {
				return ev
			}
		case <-timeout:
			t.Fatalf("no connection event with Up=%v", up)
		}
	}
}

func (e *rcEnv) publish(t *testing.T, topic string, values ...any) {
	t.Helper()
	for _, v := range values {
		if err := e.pub.Call(context.Background(), nil, "nftest_publish", topic, v); err != nil {
			t.Fatal(err)
		}
	}
}

// rcRecv receives n values from ch, failing on a gap, an end or a timeout.
func rcRecv[T any](t *testing.T, sub *rpc.ClientSubscription, ch <-chan T, n int) []T {
	t.Helper()
	var got []T
	timeout := time.After(rcWait)
	for len(got) < n {
		select {
		case v := <-ch:
			got = append(got, v)
		case g := <-sub.Gaps():
			t.Fatalf("after %v: unexpected gap: %v", got, g)
		case err := <-sub.Err():
			t.Fatalf("after %v: subscription ended: %v", got, err)
		case <-timeout:
			t.Fatalf("received %v, want %d values", got, n)
		}
	}
	return got
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReconnectResumes: a subscription to a Feed topic resumes from its last position across
// a cut, with every value published during the outage delivered once, in order, on the same
// channel; calls made while the connection is down wait for it, or fail at their deadline.
func TestReconnectResumes(t *testing.T) {
	e := newRCEnv(t, nil)
	ctx := context.Background()
	ch := make(chan int)
	sub, err := e.client.Subscribe(ctx, "nftest", ch, "topic", "resume")
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "resume", 1, 2, 3)
	if got := rcRecv(t, sub, ch, 3); !equalInts(got, []int{1, 2, 3}) {
		t.Fatalf("got %v", got)
	}
	before, ok := sub.Position()
	if !ok || before.Epoch == "" || before.Offset == 0 {
		t.Fatalf("Position() = %+v, %v after three notifications", before, ok)
	}
	id := sub.ID()

	e.d.cut(true)
	if ev := e.waitEvent(t, false); ev.Attempt != 0 || ev.Err == nil {
		t.Fatalf("first event %+v, want attempt 0 with the cause", ev)
	}
	e.publish(t, "resume", 4, 5, 6)

	// A call with a short deadline fails while down; one without waits for the reconnect.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err = e.client.Call(short, nil, "test_add", 1, 2)
	cancel()
	if !errors.Is(err, rpc.ErrConnectionLost) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call while down: %v, want ErrConnectionLost and DeadlineExceeded", err)
	}
	waiting := make(chan error, 1)
	var sum int
	wctx := &doneWatch{Context: ctx, asked: make(chan struct{})}
	go func() { waiting <- e.client.Call(wctx, &sum, "test_add", 1, 2) }()
	select {
	case <-wctx.asked: // the call waits for the connection
	case <-time.After(rcWait):
		t.Fatal("the call made while down does not wait")
	}

	e.d.setDown(false)
	e.waitEvent(t, true)
	if got := rcRecv(t, sub, ch, 3); !equalInts(got, []int{4, 5, 6}) {
		t.Fatalf("after the reconnect got %v, want 4 5 6", got)
	}
	select {
	case err := <-waiting:
		if err != nil || sum != 3 {
			t.Fatalf("the waiting call: %d, %v", sum, err)
		}
	case <-time.After(rcWait):
		t.Fatal("the call made while down never returned")
	}
	e.publish(t, "resume", 7)
	if got := rcRecv(t, sub, ch, 1); got[0] != 7 {
		t.Fatalf("live after the reconnect: %v", got)
	}
	after, _ := sub.Position()
	if after.Epoch != before.Epoch || after.Offset <= before.Offset {
		t.Fatalf("Position() %+v after %+v", after, before)
	}
	if sub.ID() == id {
		t.Fatalf("the subscription kept its id %s across the reconnect", id)
	}
	select {
	case g := <-sub.Gaps():
		t.Fatalf("gap reported: %v", g)
	default:
	}
	sub.Unsubscribe()
	waitConnSubs(t, e.srv, 0)
}

// doneWatch is a context that tells when Done is first asked for: a call does so only while it
// waits (for the connection, before it is sent; for its answer, after).
type doneWatch struct {
	context.Context
	once  sync.Once
	asked chan struct{}
}

func (w *doneWatch) Done() <-chan struct{} {
	w.once.Do(func() { close(w.asked) })
	return w.Context.Done()
}

// TestReconnectStalePosition: a subscription made with a position the server cannot resume
// from (another epoch, as after a broker restart) reports the gap on Gaps and goes on; after a
// reconnect it resumes from the last position received instead.
func TestReconnectStalePosition(t *testing.T) {
	e := newRCEnv(t, nil)
	ctx := context.Background()
	ch := make(chan int)
	// A position of another epoch: the first subscribe is not recovered either.
	stale := subscriptions.Position{Epoch: "gone", Offset: 7}
	sub, err := e.client.Subscribe(ctx, "nftest", ch, "topic", "lost", stale)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-sub.Gaps():
		if g.Reconnected || g.To.Epoch == "" || g.To.Epoch == stale.Epoch {
			t.Fatalf("gap %+v", g)
		}
		if pos, ok := sub.Position(); !ok || pos != g.To {
			t.Fatalf("Position() = %+v, %v after the gap %+v", pos, ok, g)
		}
	case <-time.After(rcWait):
		t.Fatal("no gap for a stale position")
	}
	e.publish(t, "lost", 1)
	if got := rcRecv(t, sub, ch, 1); got[0] != 1 {
		t.Fatalf("got %v", got)
	}
	// The resubscribe after the cut replaces the stale position with the last one received.
	e.d.cut(false)
	e.waitEvent(t, true)
	e.publish(t, "lost", 2)
	if got := rcRecv(t, sub, ch, 1); got[0] != 2 {
		t.Fatalf("got %v", got)
	}
}

// TestReconnectPositionArgument: the position goes in place of a trailing Position or
// *Position argument, and after the other arguments otherwise; in each case the subscription
// resumes with what was published during the outage.
func TestReconnectPositionArgument(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []any
	}{
		{"appended", []any{"topic", "args"}},
		{"replaces a nil *Position", []any{"topic", "args", (*subscriptions.Position)(nil)}},
		{"replaces a *Position", []any{"topic", "args", &subscriptions.Position{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRCEnv(t, nil)
			ch := make(chan string)
			sub, err := e.client.Subscribe(context.Background(), "nftest", ch, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			e.publish(t, "args", "a")
			recvGapless(t, sub, ch, "a")
			e.d.cut(true)
			e.waitEvent(t, false)
			e.publish(t, "args", "b", "c")
			e.d.setDown(false)
			e.waitEvent(t, true)
			recvGapless(t, sub, ch, "b")
			recvGapless(t, sub, ch, "c")
		})
	}
}

// recvGapless receives want from ch, ignoring the gap of a subscription that started from a
// position of no epoch (which the server answers with recovered false).
func recvGapless(t *testing.T, sub *rpc.ClientSubscription, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(rcWait)
	for {
		select {
		case v := <-ch:
			if v != want {
				t.Fatalf("got %q, want %q", v, want)
			}
			return
		case g := <-sub.Gaps():
			if g.Reconnected {
				t.Fatalf("gap after the reconnect: %v", g)
			}
		case err := <-sub.Err():
			t.Fatalf("subscription ended: %v", err)
		case <-timeout:
			t.Fatalf("no %q", want)
		}
	}
}

// TestReconnectWithoutPositions: a subscription whose server sends no positions is
// subscribed again as it was; a gap tells that notifications may have been lost.
func TestReconnectWithoutPositions(t *testing.T) {
	e := newRCEnv(t, nil)
	ch := make(chan int)
	sub, err := e.client.Subscribe(context.Background(), "nftest", ch, "ticks", 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := rcRecv(t, sub, ch, 3); !equalInts(got, []int{1, 2, 3}) {
		t.Fatalf("got %v", got)
	}
	if _, ok := sub.Position(); ok {
		t.Fatal("Position() reports a position the server never sent")
	}
	e.d.cut(false)
	select {
	case g := <-sub.Gaps():
		if !g.Reconnected || g.To != (subscriptions.Position{}) {
			t.Fatalf("gap %+v", g)
		}
	case <-time.After(rcWait):
		t.Fatal("no gap reported after the reconnect")
	}
	// The server runs the subscription anew.
	if got := rcRecv(t, sub, ch, 3); !equalInts(got, []int{1, 2, 3}) {
		t.Fatalf("after the reconnect got %v", got)
	}
}

// hold is a service whose method waits until its call's context ends.
type hold struct{ entered chan struct{} }

func (h hold) Wait(ctx context.Context) error {
	h.entered <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// TestReconnectCallInFlight: a call sent before the cut fails with ErrConnectionLost, and the
// client goes on after the reconnect.
func TestReconnectCallInFlight(t *testing.T) {
	e := newRCEnv(t, nil)
	h := hold{entered: make(chan struct{}, 1)}
	if err := e.srv.Register("hold", h); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.client.Call(context.Background(), nil, "hold_wait") }()
	select {
	case <-h.entered:
	case <-time.After(rcWait):
		t.Fatal("the call did not reach the server")
	}
	e.d.cut(false)
	select {
	case err := <-done:
		if !errors.Is(err, rpc.ErrConnectionLost) || errors.Is(err, rpc.ErrClosed) {
			t.Fatalf("call in flight: %v, want ErrConnectionLost", err)
		}
	case <-time.After(rcWait):
		t.Fatal("the call in flight did not fail")
	}
	var sum int
	if err := e.client.Call(context.Background(), &sum, "test_add", 2, 3); err != nil || sum != 5 {
		t.Fatalf("after the reconnect: %d, %v", sum, err)
	}
}

// TestReconnectRefused: a subscription the new connection refuses ends with the refusal on
// Err; the client goes on.
func TestReconnectRefused(t *testing.T) {
	e := newRCEnv(t, nil)
	ch := make(chan int)
	sub, err := e.client.Subscribe(context.Background(), "nftest", ch, "topic", "refused")
	if err != nil {
		t.Fatal(err)
	}
	e.d.mu.Lock()
	e.d.opts.Namespaces = []string{"test"} // nftest is not callable on later connections
	e.d.mu.Unlock()
	e.d.cut(false)
	select {
	case err := <-sub.Err():
		var re *rpc.Error
		if !errors.As(err, &re) || re.Code != rpc.CodeMethodNotFound {
			t.Fatalf("Err: %v, want the server's -32601", err)
		}
	case <-time.After(rcWait):
		t.Fatal("the refused subscription did not end")
	}
	var sum int
	if err := e.client.Call(context.Background(), &sum, "test_add", 2, 3); err != nil || sum != 5 {
		t.Fatalf("after the reconnect: %d, %v", sum, err)
	}
}

// TestReconnectUnsubscribeWhileDown: Unsubscribe does not wait for a reconnect, and the
// subscription is not made again.
func TestReconnectUnsubscribeWhileDown(t *testing.T) {
	e := newRCEnv(t, nil)
	ch := make(chan int)
	sub, err := e.client.Subscribe(context.Background(), "nftest", ch, "topic", "unsub")
	if err != nil {
		t.Fatal(err)
	}
	e.d.cut(true)
	e.waitEvent(t, false)
	done := make(chan struct{})
	go func() {
		sub.Unsubscribe()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(rcWait):
		t.Fatal("Unsubscribe waits for the connection")
	}
	e.d.setDown(false)
	e.waitEvent(t, true)
	waitConnSubs(t, e.srv, 0)
}

// TestReconnectEvents: the connection events count the attempts and carry the causes; every
// wait lies within the bounds of the options.
func TestReconnectEvents(t *testing.T) {
	const minDelay, maxDelay = 2 * time.Millisecond, 6 * time.Millisecond
	e := newRCEnv(t, &rpc.ReconnectOptions{MinDelay: minDelay, MaxDelay: maxDelay})
	e.d.mu.Lock()
	e.d.failNext = 3
	e.d.mu.Unlock()
	e.d.cut(false)
	for attempt := 0; attempt <= 3; attempt++ {
		ev := <-e.events
		if ev.Up || ev.Attempt != attempt || ev.Err == nil {
			t.Fatalf("event %d: %+v", attempt, ev)
		}
		if attempt > 0 && !errors.Is(ev.Err, errRefused) {
			t.Fatalf("event %d: %v, want the dial's error", attempt, ev.Err)
		}
		bound := min(maxDelay, minDelay<<attempt)
		if ev.Delay < bound/2 || ev.Delay > bound {
			t.Fatalf("event %d: delay %v, want %v to %v", attempt, ev.Delay, bound/2, bound)
		}
	}
	if ev := <-e.events; !ev.Up || ev.Attempt != 4 || ev.Err != nil || ev.Delay != 0 {
		t.Fatalf("up event %+v", ev)
	}
}

// TestReconnectClose: Close while the client redials ends the redialling and the calls that
// wait for the connection, and leaves no goroutine behind (CheckLeaks in newRCEnv).
func TestReconnectClose(t *testing.T) {
	e := newRCEnv(t, nil)
	ch := make(chan int)
	sub, err := e.client.Subscribe(context.Background(), "nftest", ch, "topic", "close")
	if err != nil {
		t.Fatal(err)
	}
	e.d.cut(true)
	e.waitEvent(t, false)
	waiting := make(chan error, 1)
	go func() { waiting <- e.client.Call(context.Background(), nil, "test_add", 1, 2) }()
	if err := e.client.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waiting; !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("waiting call: %v, want ErrClosed", err)
	}
	if err := <-sub.Err(); !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("subscription: %v, want ErrClosed", err)
	}
}

// TestReconnectInitialDialFails: the first dial's error is returned, with no client.
func TestReconnectInitialDialFails(t *testing.T) {
	rpctest.CheckLeaks(t)
	d := &pipeDialer{srv: rpctest.NewServer(t, nil), down: true}
	c, err := rpc.NewReconnectingClient(context.Background(), d.dial, nil)
	if !errors.Is(err, errRefused) || c != nil {
		t.Fatalf("NewReconnectingClient = %v, %v", c, err)
	}
}
