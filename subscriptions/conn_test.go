package subscriptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// sink records what a Conn writes; while gated, Send blocks like a client that stopped reading.
type sink struct {
	mu     sync.Mutex
	msgs   []string
	sends  int
	closed error
	gate   chan struct{} // nil: open
	fail   error
	wrote  chan struct{}
}

func newSink() *sink { return &sink{wrote: make(chan struct{}, 1)} }

func (k *sink) Send(msgs [][]byte) error {
	k.mu.Lock()
	gate := k.gate
	k.mu.Unlock()
	if gate != nil {
		<-gate
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fail != nil {
		return k.fail
	}
	k.sends++
	for _, m := range msgs {
		k.msgs = append(k.msgs, string(m))
	}
	select {
	case k.wrote <- struct{}{}:
	default:
	}
	return nil
}

func (k *sink) Close(reason error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = reason
}

func (k *sink) state() (sends int, closed error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sends, k.closed
}

func (k *sink) stall() {
	k.mu.Lock()
	k.gate = make(chan struct{})
	k.mu.Unlock()
}

func (k *sink) resume() {
	k.mu.Lock()
	if k.gate != nil {
		close(k.gate)
		k.gate = nil
	}
	k.mu.Unlock()
}

// waitFor waits until f reports true about the messages written so far.
func (k *sink) waitFor(t *testing.T, what string, f func(msgs []string) bool) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		k.mu.Lock()
		msgs := append([]string(nil), k.msgs...)
		k.mu.Unlock()
		if f(msgs) {
			return msgs
		}
		select {
		case <-k.wrote:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; written: %d messages", what, len(msgs))
		}
	}
}

// usage returns the queue's counters.
func (c *Conn) usage() (queued, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued, c.bytes
}

func count(n int) func([]string) bool { return func(m []string) bool { return len(m) >= n } }

// subscribe makes one subscription the way package rpc does, answered or not.
func subscribe(t *testing.T, c *Conn, answered bool, opts ...Option) *Subscription {
	t.Helper()
	n, err := c.Begin("nftest")
	if err != nil {
		t.Fatal(err)
	}
	s := n.CreateSubscription(opts...)
	c.Finish(n, answered)
	return s
}

type note struct {
	Method string `json:"method"`
	Params struct {
		Subscription string          `json:"subscription"`
		Result       json.RawMessage `json:"result"`
		Dropped      uint64          `json:"dropped"`
		Offset       uint64          `json:"offset"`
		Epoch        string          `json:"epoch"`
		Recovered    *bool           `json:"recovered"`
	} `json:"params"`
}

func parse(t *testing.T, msg string) note {
	t.Helper()
	if !strings.HasSuffix(msg, "\n") || strings.Count(msg, "\n") != 1 {
		t.Fatalf("message %q is not one line ending in a newline", msg)
	}
	var n note
	if err := json.Unmarshal([]byte(msg), &n); err != nil {
		t.Fatalf("message %q: %v", msg, err)
	}
	return n
}

func TestNewID(t *testing.T) {
	seen := make(map[ID]bool)
	for range 1000 {
		id := NewID()
		if len(id) != 34 || !strings.HasPrefix(string(id), "0x") || strings.Trim(string(id[2:]), "0123456789abcdef") != "" {
			t.Fatalf("id %q is not 0x and 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
}

// TestHeldUntilAnswered runs in a synctest bubble: synctest.Wait returns once the drain
// goroutine has done all it would do, so "nothing written" is checked without a sleep.
func TestHeldUntilAnswered(t *testing.T) { synctest.Test(t, testHeldUntilAnswered) }

func testHeldUntilAnswered(t *testing.T) {
	k := newSink()
	c := NewConn(k, Limits{}, nil)
	defer c.Close(ErrConnClosed)
	n, _ := c.Begin("nftest")
	s := n.CreateSubscription()
	for i := range 3 {
		if err := s.Notify(i); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Wait()
	if sends, _ := k.state(); sends != 0 {
		t.Fatalf("%d notifications written before the subscribe answer", sends)
	}
	c.Finish(n, true)
	msgs := k.waitFor(t, "3 notifications", count(3))
	for i, m := range msgs {
		got := parse(t, m)
		if got.Method != "nftest_subscription" || got.Params.Subscription != string(s.ID) || string(got.Params.Result) != fmt.Sprint(i) {
			t.Errorf("notification %d = %s", i, m)
		}
	}
	want := `{"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"` + string(s.ID) + `","result":0}}` + "\n"
	if msgs[0] != want {
		t.Errorf("wire form\n got %s\nwant %s", msgs[0], want)
	}
}

// TestCloseConnWhilePending: before the subscribe answer is written, CloseConn drops what does
// not fit (reported by a lag notice once delivery starts) instead of closing the connection.
func TestCloseConnWhilePending(t *testing.T) {
	k := newSink()
	c := NewConn(k, Limits{MaxQueued: 3}, nil)
	defer c.Close(ErrConnClosed)
	n, _ := c.Begin("nftest")
	s := n.CreateSubscription(WithPolicy(CloseConn))
	for i := range 5 {
		if err := s.Notify(i); err != nil {
			t.Fatalf("Notify(%d) while pending = %v", i, err)
		}
	}
	if _, closed := k.state(); closed != nil {
		t.Fatalf("connection closed while the subscription was pending: %v", closed)
	}
	c.Finish(n, true)
	msgs := k.waitFor(t, "3 notifications and a lag notice", count(4))
	var got []string
	dropped := uint64(0)
	for _, m := range msgs {
		switch nt := parse(t, m); nt.Method {
		case "nftest_subscription":
			got = append(got, string(nt.Params.Result))
		case "nftest_subscriptionLag":
			dropped += nt.Params.Dropped
		}
	}
	if strings.Join(got, ",") != "0,1,2" || dropped != 2 {
		t.Fatalf("delivered %v, %d reported dropped; want 0,1,2 and 2", got, dropped)
	}
	// Once active, the policy applies as usual.
	k.stall()
	defer k.resume()
	for i := 0; i < 100 && s.Notify(i) == nil; i++ {
	}
	if err := s.Notify(0); err != ErrOverflow {
		t.Fatalf("Notify on a full queue once active = %v, want ErrOverflow", err)
	}
}

func TestUnansweredEnds(t *testing.T) {
	k := newSink()
	c := NewConn(k, Limits{}, nil)
	defer c.Close(ErrConnClosed)
	n, _ := c.Begin("nftest")
	s := n.CreateSubscription()
	s.Notify(1)
	c.Finish(n, false)
	if err := <-s.Err(); err != ErrUnsubscribed {
		t.Fatalf("Err = %v, want ErrUnsubscribed", err)
	}
	if q, b := c.usage(); c.Len() != 0 || q != 0 || b != 0 {
		t.Fatalf("after the end: %d subscriptions, %d queued, %d bytes", c.Len(), q, b)
	}
	if err := s.Notify(2); err != ErrUnsubscribed {
		t.Fatalf("Notify after the end = %v", err)
	}
}

func TestLateSubscription(t *testing.T) {
	c := NewConn(newSink(), Limits{}, nil)
	defer c.Close(ErrConnClosed)
	n, _ := c.Begin("nftest")
	first := n.CreateSubscription()
	second := n.CreateSubscription()
	if err := <-second.Err(); err != ErrLateSubscription {
		t.Fatalf("second subscription: %v", err)
	}
	if !n.Owns(first) || n.Owns(second) {
		t.Fatal("Owns is wrong")
	}
	c.Finish(n, true)
	if err := <-n.CreateSubscription().Err(); err != ErrLateSubscription {
		t.Fatalf("after return: %v", err)
	}
}

func TestMaxSubscriptions(t *testing.T) {
	c := NewConn(newSink(), Limits{MaxSubscriptions: 2}, nil)
	defer c.Close(ErrConnClosed)
	a := subscribe(t, c, true)
	subscribe(t, c, true)
	if _, err := c.Begin("nftest"); err != ErrTooManySubscriptions {
		t.Fatalf("third: %v", err)
	}
	if !c.Unsubscribe(a.ID) || c.Unsubscribe(a.ID) {
		t.Fatal("Unsubscribe should succeed once")
	}
	subscribe(t, c, true)

	// A created subscription counts once, also before its call has finished.
	c2 := NewConn(newSink(), Limits{MaxSubscriptions: 2}, nil)
	defer c2.Close(ErrConnClosed)
	n1, _ := c2.Begin("nftest")
	n1.CreateSubscription()
	n2, err := c2.Begin("nftest")
	if err != nil {
		t.Fatalf("second subscription while the first call is finishing: %v", err)
	}
	if _, err := c2.Begin("nftest"); err != ErrTooManySubscriptions {
		t.Fatalf("third: %v", err)
	}
	c2.Finish(n2, true) // created nothing: gives its reservation back
	c2.Finish(n1, true)
	n3, err := c2.Begin("nftest")
	if err != nil {
		t.Fatal(err)
	}
	c2.Finish(n3, false)
}

// TestOverflow fills the queue of a stalled connection under each policy.
func TestOverflow(t *testing.T) {
	const limit, sent = 10, 50
	for _, tc := range []struct {
		policy    Policy
		wantFirst int // first value delivered after the drop
	}{
		{DropNewest, 0},
		{DropOldest, sent - limit},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			k := newSink()
			k.stall()
			c := NewConn(k, Limits{MaxQueued: limit}, nil)
			defer c.Close(ErrConnClosed)
			s := subscribe(t, c, true, WithPolicy(tc.policy))
			for i := range sent {
				if err := s.Notify(i); err != nil {
					t.Fatal(err)
				}
			}
			if q, _ := c.usage(); q > limit {
				t.Fatalf("%d queued, limit %d", q, limit)
			}
			k.resume()
			var got []int
			var dropped uint64
			k.waitFor(t, "everything", func(msgs []string) bool {
				got, dropped = nil, 0
				for _, m := range msgs {
					n := parse(t, m)
					if n.Method == "nftest_subscriptionLag" {
						dropped += n.Params.Dropped
						continue
					}
					var v int
					json.Unmarshal(n.Params.Result, &v)
					got = append(got, v)
				}
				return uint64(len(got))+dropped == sent
			})
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("out of order: %v", got)
				}
			}
			if dropped == 0 {
				t.Fatal("no lag notice")
			}
			if tc.policy == DropOldest && got[len(got)-1] != sent-1 {
				t.Errorf("drop-oldest lost the newest: %v", got)
			}
			if tc.policy == DropNewest && got[0] != 0 {
				t.Errorf("drop-newest lost the oldest: %v", got)
			}
		})
	}
	t.Run("close", func(t *testing.T) {
		k := newSink()
		k.stall()
		c := NewConn(k, Limits{MaxQueued: limit}, nil)
		s := subscribe(t, c, true)
		var err error
		for i := 0; i < sent && err == nil; i++ {
			err = s.Notify(i)
		}
		if err != ErrOverflow {
			t.Fatalf("Notify = %v, want ErrOverflow", err)
		}
		if _, closed := k.state(); closed != ErrOverflow {
			t.Fatalf("sink closed with %v", closed)
		}
		k.resume()
		c.Close(ErrConnClosed)
		if err := <-s.Err(); err != ErrOverflow {
			t.Fatalf("Err = %v, want ErrOverflow", err)
		}
	})
}

func TestQueuedBytesBound(t *testing.T) {
	k := newSink()
	k.stall()
	c := NewConn(k, Limits{MaxQueuedBytes: 64 << 10, Policy: DropOldest}, nil)
	s := subscribe(t, c, true)
	big := strings.Repeat("x", 1000)
	for range 1000 {
		s.Notify(big)
	}
	if _, b := c.usage(); b > 64<<10 {
		t.Fatalf("%d bytes queued, limit %d", b, 64<<10)
	}
	k.resume()
	c.Close(ErrConnClosed)
}

// TestNotifyWait runs in a synctest bubble: synctest.Wait returns once the producer is blocked
// for good, so "it waits" is checked without a sleep.
func TestNotifyWait(t *testing.T) { synctest.Test(t, testNotifyWait) }

func testNotifyWait(t *testing.T) {
	k := newSink()
	k.stall()
	c := NewConn(k, Limits{MaxQueued: 4}, nil)
	defer c.Close(ErrConnClosed)
	defer k.resume() // first, so that Close does not wait on a stalled write
	s := subscribe(t, c, true)
	done := make(chan error, 1)
	go func() {
		for i := range 100 {
			if err := s.NotifyWait(context.Background(), i); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	synctest.Wait()
	select {
	case err := <-done:
		t.Fatalf("NotifyWait did not wait for room: %v", err)
	default:
	}
	k.resume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	k.waitFor(t, "100 notifications", count(100))

	// A waiting producer learns of the end.
	k.stall()
	for i := 0; i < 1000; i++ { // the drain goroutine may hold one burst besides the queue
		if q, _ := c.usage(); q == 4 {
			break
		}
		s.Notify(0)
		synctest.Wait()
	}
	go func() { done <- s.NotifyWait(context.Background(), 1) }()
	synctest.Wait()
	select {
	case err := <-done:
		t.Fatalf("NotifyWait did not wait on a full queue: %v", err)
	default:
	}
	s.Unsubscribe()
	if err := <-done; err != ErrUnsubscribed {
		t.Fatalf("NotifyWait after unsubscribe = %v", err)
	}
	k.resume()
}

func TestCloseEndsEverything(t *testing.T) {
	k := newSink()
	c := NewConn(k, Limits{}, nil)
	subs := []*Subscription{subscribe(t, c, true), subscribe(t, c, true)}
	k.fail = errors.New("broken pipe")
	subs[0].Notify(1)
	c.Close(ErrServerStopped)
	c.Close(ErrConnClosed) // idempotent
	for _, s := range subs {
		if err := <-s.Err(); err != ErrServerStopped {
			t.Fatalf("Err = %v", err)
		}
		if _, open := <-s.Err(); open {
			t.Fatal("Err not closed")
		}
	}
	if _, err := c.Begin("nftest"); err != ErrServerStopped {
		t.Fatalf("Begin after Close = %v", err)
	}
}

func TestNotifierNotify(t *testing.T) {
	k := newSink()
	c := NewConn(k, Limits{}, nil)
	defer c.Close(ErrConnClosed)
	n, _ := c.Begin("eth")
	s := n.CreateSubscription()
	c.Finish(n, true)
	if err := n.Notify(s.ID, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify("0xnope", 1); err != ErrSubscriptionNotFound {
		t.Fatalf("unknown id: %v", err)
	}
	if err := n.Notify(s.ID, make(chan int)); err == nil {
		t.Fatal("unencodable value accepted")
	}
	msgs := k.waitFor(t, "one", count(1))
	if got := parse(t, msgs[0]); got.Method != "eth_subscription" || string(got.Params.Result) != `{"a":1}` {
		t.Fatalf("got %s", msgs[0])
	}
}

func TestNotifierFromContext(t *testing.T) {
	if _, ok := NotifierFromContext(context.Background()); ok {
		t.Fatal("found a notifier in an empty context")
	}
	c := NewConn(newSink(), Limits{}, nil)
	defer c.Close(ErrConnClosed)
	n, _ := c.Begin("x")
	defer c.Finish(n, false)
	if got, ok := NotifierFromContext(NewContext(context.Background(), n)); !ok || got != n {
		t.Fatal("notifier lost")
	}
}

// TestNotifyWaitManyProducers: producers racing for the room of one queue wait; none of them
// trips the overflow policy (a check and a push under two separate locks once did).
func TestNotifyWaitManyProducers(t *testing.T) {
	const producers, each = 10, 2000
	k := newSink()
	c := NewConn(k, Limits{MaxQueued: 8}, nil) // CloseConn
	defer c.Close(ErrConnClosed)
	var wg sync.WaitGroup
	for range producers {
		s := subscribe(t, c, true)
		wg.Go(func() {
			for i := range each {
				if err := s.NotifyWait(context.Background(), i); err != nil {
					t.Errorf("NotifyWait: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	k.waitFor(t, "every notification", count(producers*each))
	if _, closed := k.state(); closed != nil {
		t.Fatalf("the connection was closed: %v", closed)
	}
}
