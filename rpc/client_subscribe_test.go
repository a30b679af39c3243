package rpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// TestClientSubscriptionOverflow: a consumer that never reads its channel ends the
// subscription with ErrSubscriptionQueueOverflow instead of blocking the connection, whose
// other calls go on; the server's subscription is removed.
func TestClientSubscriptionOverflow(t *testing.T) {
	e := ctDialStream(t, nil)
	ctx := context.Background()
	sub, err := e.client.Subscribe(ctx, "nftest", make(chan int), "ticks", rpc.ClientBufferLimit+100, 0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sub.Err():
		if !errors.Is(err, rpc.ErrSubscriptionQueueOverflow) {
			t.Fatalf("Err = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no overflow")
	}
	var sum int
	if err := e.client.Call(ctx, &sum, "test_add", 2, 3); err != nil || sum != 5 {
		t.Fatalf("the connection is stuck: %v", err)
	}
	waitConnSubs(t, e.srv, 0)
}

// TestClientLagged: notifications the server dropped for a client slower than the producer
// are reported on Lagged, and together with those delivered they account for every one sent.
func TestClientLagged(t *testing.T) {
	const n = 5000
	e := ctDialStream(t, &rpc.Options{Subscriptions: subscriptions.Limits{MaxQueued: 50}})
	ch := make(chan rpctest.FloodItem)
	sub, err := e.client.Subscribe(context.Background(), "nftest", ch, "flood", n, 64, "drop-newest")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	got, dropped, last := 0, uint64(0), -1
	deadline := time.After(20 * time.Second)
	for uint64(got)+dropped < n {
		select {
		case item := <-ch:
			if item.I <= last {
				t.Fatalf("%d after %d", item.I, last)
			}
			last = item.I
			got++
		case d := <-sub.Lagged():
			dropped += d
		case <-deadline:
			t.Fatalf("%d delivered + %d dropped of %d", got, dropped, n)
		}
	}
	if dropped == 0 {
		t.Fatal("nothing dropped: the queue limit did not apply")
	}
	t.Logf("%d delivered, %d dropped", got, dropped)
}
