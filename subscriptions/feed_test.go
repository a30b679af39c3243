package subscriptions

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestFeed(t *testing.T) {
	var f Feed
	k1, k2 := newSink(), newSink()
	c1, c2 := NewConn(k1, Limits{}), NewConn(k2, Limits{})
	defer c1.Close(ErrConnClosed)
	defer c2.Close(ErrConnClosed)
	a, b, other := subscribe(t, c1, true), subscribe(t, c2, true), subscribe(t, c2, true)
	if !f.Subscribe("room", a) || !f.Subscribe("room", b) || !f.Subscribe("elsewhere", other) {
		t.Fatal("Subscribe refused a live subscription")
	}
	if n, err := f.Publish("room", "hello"); n != 2 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	k1.waitFor(t, "a's notification", count(1))
	msgs := k2.waitFor(t, "b's notification", count(1))
	if got := parse(t, msgs[0]); got.Params.Subscription != string(b.ID) || string(got.Params.Result) != `"hello"` {
		t.Fatalf("b got %s", msgs[0])
	}
	a.Unsubscribe()
	if n := f.Len("room"); n != 1 {
		t.Fatalf("after a ended the room has %d subscribers", n)
	}
	if f.Subscribe("room", a) {
		t.Fatal("Subscribe took an ended subscription")
	}
	if _, err := f.Publish("room", make(chan int)); err == nil {
		t.Fatal("unencodable value published")
	}
	if n, _ := f.Publish("nobody", 1); n != 0 {
		t.Fatalf("empty topic reached %d", n)
	}
	c2.Close(ErrConnClosed)
	if f.Len("room") != 0 || f.Len("elsewhere") != 0 {
		t.Fatal("subscriptions of a closed connection stayed in the feed")
	}
}

// TestFeedConcurrent publishes while subscriptions come and go (run with -race).
func TestFeedConcurrent(t *testing.T) {
	var f Feed
	const workers, rounds = 8, 200
	conns := make([]*Conn, workers)
	for i := range conns {
		conns[i] = NewConn(newSink(), Limits{Policy: DropOldest})
	}
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				f.Publish("t", i)
			}
		}
	})
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			for range rounds {
				s := subscribe(t, c, true)
				f.Subscribe("t", s)
				runtime.Gosched()
				c.Unsubscribe(s.ID)
			}
		})
	}
	wg.Wait()
	close(stop)
	pub.Wait()
	if n := f.Len("t"); n != 0 {
		t.Fatalf("%d subscriptions left in the feed", n)
	}
	for _, c := range conns {
		c.Close(ErrConnClosed)
	}
}

// TestNoGoroutineWhenIdle checks that a connection runs no goroutine while nothing is queued.
func TestNoGoroutineWhenIdle(t *testing.T) {
	before := runtime.NumGoroutine()
	k := newSink()
	c := NewConn(k, Limits{})
	s := subscribe(t, c, true)
	for i := range 1000 {
		s.Notify(i)
	}
	k.waitFor(t, "all", count(1000))
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after draining, %d before", n, before)
	}
	if sends, _ := k.state(); sends >= 1000 {
		t.Errorf("1000 notifications took %d writes: no bursts", sends)
	}
	c.Close(ErrConnClosed)
}
