package subscriptions

import (
	"fmt"
	"sync"
	"testing"
)

// observer is a sink that also records what its Observer methods are told.
type observer struct {
	*sink
	mu     sync.Mutex
	events map[string]int
}

func newObserver() *observer { return &observer{sink: newSink(), events: make(map[string]int)} }

func (o *observer) add(e string, n int) {
	o.mu.Lock()
	o.events[e] += n
	o.mu.Unlock()
}

func (o *observer) Started(tag any)                  { o.add(fmt.Sprint("started ", tag), 1) }
func (o *observer) Ended(tag any)                    { o.add(fmt.Sprint("ended ", tag), 1) }
func (o *observer) Sent(tag any, n int)              { o.add(fmt.Sprint("sent ", tag), n) }
func (o *observer) Dropped(tag any, p Policy, n int) { o.add(fmt.Sprint("dropped ", tag, " ", p), n) }

func (o *observer) got() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprint(o.events)
}

// TestObserver: a sink that is an Observer is told, by tag, of each subscription's start and
// end, and of the notifications written and those the lag notices report dropped.
func TestObserver(t *testing.T) {
	o := newObserver()
	c := NewConn(o, Limits{MaxQueued: 4}, nil)
	tagged := func(tag string, opts ...Option) (*Notifier, *Subscription) {
		n, err := c.BeginTagged("nftest", tag)
		if err != nil {
			t.Fatal(err)
		}
		return n, n.CreateSubscription(opts...)
	}
	// b's notifications are held until its subscribe call is answered: 4 fit in the queue,
	// 6 are dropped.
	nb, b := tagged("b", WithPolicy(DropNewest))
	for i := range 10 {
		b.Notify(i)
	}
	c.Finish(nb, true)
	o.waitFor(t, "b's notifications and lag notice", count(4+1))
	na, a := tagged("a")
	c.Finish(na, true)
	for i := range 3 {
		a.Notify(i)
	}
	o.waitFor(t, "a's notifications", count(4+1+3))
	nc, _ := tagged("c")
	c.Finish(nc, false) // never answered: ended at once
	a.Unsubscribe()
	c.Close(ErrConnClosed)
	want := "map[dropped b drop-newest:6 ended a:1 ended b:1 ended c:1 sent a:3 sent b:4 started a:1 started b:1 started c:1]"
	if got := o.got(); got != want {
		t.Errorf("events\n%s\nwant\n%s", got, want)
	}
}
