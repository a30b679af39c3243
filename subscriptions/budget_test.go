package subscriptions

import (
	"context"
	"testing"
	"testing/synctest"
)

// fillBudget makes c, whose sink is stalled, queue notifications of a new subscription with
// policy p until the shared budget drops one, and returns the subscription and c's queue.
func fillBudget(t *testing.T, c *Conn, p Policy) (*Subscription, int) {
	t.Helper()
	s := subscribe(t, c, true, WithPolicy(p))
	dropped := c.budget.Stats().Dropped
	for i := range 1000 {
		s.Notify(i)
		synctest.Wait()
		if st := c.budget.Stats(); st.Dropped > dropped {
			q, _ := c.usage()
			return s, q
		}
	}
	t.Fatal("the budget never filled")
	return nil, 0
}

// TestBudget runs in a synctest bubble: the drain goroutines and the waiting producer are
// seen blocked for good with synctest.Wait.
func TestBudget(t *testing.T) { synctest.Test(t, testBudget) }

func testBudget(t *testing.T) {
	b := NewBudget(2000) // about twenty notifications of ~100 bytes
	ka, kb := newSink(), newSink()
	ka.stall()
	a := NewConn(ka, Limits{}, b)
	bc := NewConn(kb, Limits{}, b)
	defer func() {
		ka.resume()
		a.Close(ErrConnClosed)
		bc.Close(ErrConnClosed)
		if used := b.Stats().Used; used != 0 {
			t.Errorf("the budget holds %d bytes after every connection closed", used)
		}
	}()

	// a fills the budget (its client does not read): DropNewest drops beyond it, counted.
	_, queued := fillBudget(t, a, DropNewest)
	st := b.Stats()
	if st.Used > st.Limit || st.Used < st.Limit-200 || queued < 10 {
		t.Fatalf("after filling: %+v, %d queued on a", st, queued)
	}

	// b's own queue is empty, but the budget is spent: its subscriptions meet their policies.
	kb.stall()
	drop := subscribe(t, bc, true, WithPolicy(DropNewest))
	if err := drop.Notify("x"); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	if got := b.Stats().Dropped; got != st.Dropped+1 {
		t.Errorf("DropNewest on b: %d dropped, want %d", got, st.Dropped+1)
	}
	waiter := subscribe(t, bc, true)
	done := make(chan error, 1)
	go func() { done <- waiter.NotifyWait(context.Background(), "w") }()
	synctest.Wait()
	select {
	case err := <-done:
		t.Fatalf("NotifyWait did not wait for the budget: %v", err)
	default:
	}
	if got := b.Stats().Waited; got != 1 {
		t.Errorf("%d waits counted, want 1", got)
	}
	// a's client reads again: the budget frees, the producer goes on, and b's client gets the
	// lag notice and the waited notification.
	ka.resume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	kb.resume()
	msgs := kb.waitFor(t, "the lag notice and the waited notification", count(2))
	if n := parse(t, msgs[0]); n.Method != "nftest_subscriptionLag" || n.Params.Dropped != 1 {
		t.Errorf("first message on b: %s", msgs[0])
	}
	if n := parse(t, msgs[1]); string(n.Params.Result) != `"w"` {
		t.Errorf("second message on b: %s", msgs[1])
	}

	// CloseConn: a connection whose own queue has room is closed when the budget is spent.
	ka.stall()
	fillBudget(t, a, DropNewest)
	closer := subscribe(t, bc, true) // CloseConn, the default
	if err := closer.Notify("c"); err != ErrOverflow {
		t.Fatalf("CloseConn over the budget: %v, want ErrOverflow", err)
	}
	if _, closed := kb.state(); closed != ErrOverflow {
		t.Errorf("b's sink closed with %v, want ErrOverflow", closed)
	}
	if got := b.Stats().Closed; got != 1 {
		t.Errorf("%d connections closed, want 1", got)
	}
}

// TestNotifyWaitPaced: a producer that waits keeps at most two bursts queued, well under the
// queue's limits.
func TestNotifyWaitPaced(t *testing.T) { synctest.Test(t, testNotifyWaitPaced) }

func testNotifyWaitPaced(t *testing.T) {
	k := newSink()
	k.stall()
	c := NewConn(k, Limits{}, nil)
	defer c.Close(ErrConnClosed)
	defer k.resume()
	s := subscribe(t, c, true)
	go func() {
		for i := 0; s.NotifyWait(context.Background(), i) == nil; i++ {
		}
	}()
	synctest.Wait()
	if q, _ := c.usage(); q != paceMessages {
		t.Fatalf("%d notifications queued by a waiting producer, want %d", q, paceMessages)
	}
	s.Unsubscribe()
}
