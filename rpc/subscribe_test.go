package rpc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

func TestClientSubscribe(t *testing.T) {
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			t.Run("ticks", func(t *testing.T) { stTicks(t, tr.dial(t, nil)) })
			t.Run("many", func(t *testing.T) { stMany(t, tr.dial(t, nil)) })
			t.Run("errors", func(t *testing.T) { stErrors(t, tr.dial(t, nil)) })
			t.Run("stop", func(t *testing.T) { stStop(t, tr.dial(t, nil)) })
			t.Run("limit", func(t *testing.T) {
				stLimit(t, tr.dial(t, &rpc.Options{Subscriptions: subscriptions.Limits{MaxSubscriptions: 3}}))
			})
			t.Run("concurrent", func(t *testing.T) { stConcurrent(t, tr.dial(t, nil)) })
		})
	}
}

func recvN[T any](t *testing.T, ch <-chan T, n int) []T {
	t.Helper()
	var got []T
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case v := <-ch:
			got = append(got, v)
		case <-timeout:
			t.Fatalf("received %d of %d notifications", len(got), n)
		}
	}
	return got
}

func stTicks(t *testing.T, e *ctEnv) {
	ctx := context.Background()
	ch := make(chan int)
	sub, err := e.client.Subscribe(ctx, "nftest", ch, "ticks", 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sub.ID(), "0x") {
		t.Errorf("id %q", sub.ID())
	}
	for i, v := range recvN(t, ch, 1000) {
		if v != i+1 {
			t.Fatalf("notification %d = %d: out of order", i, v)
		}
	}
	sub.Unsubscribe()
	sub.Unsubscribe() // idempotent
	if _, open := <-sub.Err(); open {
		t.Error("Err got a value after Unsubscribe")
	}
	waitConnSubs(t, e.srv, 0)
}

// waitConnSubs waits until the server's connections hold want subscriptions in all.
func waitConnSubs(t *testing.T, srv *rpc.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		for _, c := range srv.Conns() {
			n += c.Subscriptions
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d subscriptions, want %d", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stMany runs many subscriptions on one connection, each in order.
func stMany(t *testing.T, e *ctEnv) {
	const subs, each = 20, 200
	chans := make([]chan int, subs)
	var all []*rpc.ClientSubscription
	for i := range chans {
		chans[i] = make(chan int, 16)
		sub, err := e.client.Subscribe(context.Background(), "nftest", chans[i], "ticks", each, i*1000)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, sub)
	}
	waitConnSubs(t, e.srv, subs)
	var wg sync.WaitGroup
	for i, ch := range chans {
		wg.Go(func() {
			for k, v := range recvN(t, ch, each) {
				if v != i*1000+k {
					t.Errorf("subscription %d: notification %d = %d", i, k, v)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, s := range all {
		s.Unsubscribe()
	}
	waitConnSubs(t, e.srv, 0)
}

func stErrors(t *testing.T, e *ctEnv) {
	ctx := context.Background()
	var re *rpc.Error
	_, err := e.client.Subscribe(ctx, "nftest", make(chan int), "nope")
	if !errors.As(err, &re) || re.Code != rpc.CodeMethodNotFound {
		t.Errorf("unknown subscription: %v", err)
	}
	if _, err := e.client.Subscribe(ctx, "nftest", 42, "ticks", 1, 1); err == nil {
		t.Error("a non-channel was accepted")
	}
	if _, err := e.client.Subscribe(ctx, "nftest", make(chan int)); err == nil {
		t.Error("no subscription name was accepted")
	}
	// Results that do not decode into the channel's type end the subscription with an error.
	sub, err := e.client.Subscribe(ctx, "nftest", make(chan string), "ticks", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sub.Err():
		if err == nil || !strings.Contains(err.Error(), "cannot decode") {
			t.Errorf("Err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error for an undecodable notification")
	}
	waitConnSubs(t, e.srv, 0) // and the client unsubscribed it
}

// stStop stops the server under live subscriptions: they end, the client learns it.
func stStop(t *testing.T, e *ctEnv) {
	ch := make(chan int)
	sub, err := e.client.Subscribe(context.Background(), "nftest", ch, "topic", "x")
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Stop()
	select {
	case err := <-sub.Err():
		if err == nil {
			t.Error("Err closed without a reason")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription outlived the server")
	}
}

func stLimit(t *testing.T, e *ctEnv) {
	for i := range 3 {
		if _, err := e.client.Subscribe(context.Background(), "nftest", make(chan int), "topic", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.client.Subscribe(context.Background(), "nftest", make(chan int), "topic", "one too many")
	var re *rpc.Error
	if !errors.As(err, &re) || re.Code != rpc.CodeServerBusy || !strings.Contains(re.Message, "limit 3") {
		t.Fatalf("fourth subscription: %v", err)
	}
}

// stConcurrent subscribes and unsubscribes from many goroutines while a topic is published.
func stConcurrent(t *testing.T, e *ctEnv) {
	ctx := context.Background()
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := e.client.Call(ctx, nil, "nftest_publish", "busy", i); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				ch := make(chan int, 1000)
				sub, err := e.client.Subscribe(ctx, "nftest", ch, "topic", "busy")
				if err != nil {
					t.Error(err)
					return
				}
				sub.Unsubscribe()
			}
		})
	}
	wg.Wait()
	close(stop)
	pub.Wait()
	waitConnSubs(t, e.srv, 0)
	var n int
	if err := e.client.Call(ctx, &n, "nftest_subscribers", "busy"); err != nil || n != 0 {
		t.Fatalf("feed still has %d subscribers (%v)", n, err)
	}
}

// rawPipe serves one end of a net.Pipe (unbuffered: the server's writes wait for the test to
// read, like a client that stopped reading) and returns the other.
func rawPipe(t testing.TB, srv *rpc.Server) (net.Conn, *bufio.Reader) {
	cEnd, sEnd := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeStream(sEnd, rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: rpc.TransportIPC}})
	}()
	t.Cleanup(func() {
		cEnd.Close()
		<-done
	})
	return cEnd, bufio.NewReaderSize(cEnd, 1<<20)
}

type wireNote struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpc.Error      `json:"error"`
	Method string          `json:"method"`
	Params struct {
		Subscription string          `json:"subscription"`
		Result       json.RawMessage `json:"result"`
		Dropped      int             `json:"dropped"`
		ID           json.RawMessage `json:"id"` // a cancel notification's
	} `json:"params"`
}

func readNote(t *testing.T, c net.Conn, r *bufio.Reader) (wireNote, error) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := r.ReadBytes('\n')
	var n wireNote
	if err == nil {
		err = json.Unmarshal(line, &n)
	}
	return n, err
}

// TestStalledClient floods a client that does not read, under each policy: the server's
// memory stays bounded, drops are reported, and under "close" the connection is closed while
// another connection is not disturbed.
func TestStalledClient(t *testing.T) {
	const n, size = 20000, 1000
	for _, policy := range []string{"drop-newest", "drop-oldest", "close"} {
		t.Run(policy, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			srv := rpctest.NewServer(t, &rpc.Options{Subscriptions: subscriptions.Limits{MaxQueued: 500}})
			other, err := inproc.Dial(srv)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			c, r := rawPipe(t, srv)
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			fmt.Fprintf(c, `{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["flood",%d,%d,%q]}`+"\n", n, size, policy)
			answer, err := readNote(t, c, r)
			if err != nil || answer.Error != nil {
				t.Fatalf("subscribe: %v %v", err, answer.Error)
			}
			time.Sleep(300 * time.Millisecond) // the producer runs into the full queue
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
				t.Errorf("heap grew by %d MiB for a stalled client (queue of 500 × 1 kB)", grew>>20)
			}
			// Another connection is served meanwhile.
			var sum int
			if err := other.Call(context.Background(), &sum, "test_add", 1, 2); err != nil || sum != 3 {
				t.Fatalf("other connection: %v", err)
			}
			got, dropped, last := 0, 0, -1
			for got+dropped < n {
				note, err := readNote(t, c, r)
				if err != nil {
					if policy == "close" {
						if got >= n {
							t.Fatalf("closed after everything was delivered")
						}
						return // closed, as the policy says
					}
					t.Fatalf("after %d notifications and %d dropped: %v", got, dropped, err)
				}
				switch note.Method {
				case "nftest_subscriptionLag":
					dropped += note.Params.Dropped
				case "nftest_subscription":
					var item rpctest.FloodItem
					json.Unmarshal(note.Params.Result, &item)
					if item.I <= last {
						t.Fatalf("notification %d after %d", item.I, last)
					}
					last = item.I
					got++
				}
			}
			if policy == "close" {
				t.Fatal("the connection was not closed")
			}
			if dropped == 0 {
				t.Fatal("nothing dropped: the client was not stalled")
			}
			t.Logf("%s: %d delivered, %d dropped and reported", policy, got, dropped)
		})
	}
}

// TestVanishingSubscriber closes connections in the middle of endless streams: the producers
// stop, the server forgets the subscriptions and its goroutines return.
func TestVanishingSubscriber(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	for range 20 {
		c, r := rawPipe(t, srv)
		fmt.Fprint(c, `{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["ticks",1000000000,0]}`+"\n")
		if _, err := readNote(t, c, r); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			readNote(t, c, r)
		}
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Conns()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(srv.Conns()); n > 0 {
		t.Fatalf("%d connections still held", n)
	}
}

// TestStalledClientKeepsSubscribing: a client that never reads but keeps sending subscribe
// calls cannot grow the server's memory: its answers wait for call slots, and the
// notifications of its subscriptions wait in the connection's bounded queue.
func TestStalledClientKeepsSubscribing(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	c, _ := rawPipe(t, srv)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sent := make(chan int, 1)
	go func() {
		n := 0
		for ; n < 5000; n++ {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			_, err := fmt.Fprintf(c, `{"jsonrpc":"2.0","id":%d,"method":"nftest_subscribe","params":["flood",5000,1000,"drop-newest"]}`+"\n", n)
			if err != nil {
				break // the server stopped reading: every call slot is waiting on this client
			}
		}
		sent <- n
	}()
	n := <-sent
	// 65 × 5000 notifications of 1 kB, 325 MB if the server kept them: give the producers
	// time to finish, so that the heap is not measured amid their garbage.
	time.Sleep(time.Second)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d subscribe calls sent before the server stopped reading; heap grew %d KiB", n, grew>>10)
	if n >= 5000 {
		t.Fatal("the server read every subscribe call of a client that does not read")
	}
	if grew > 24<<20 {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
}

// TestNotificationBudget: the queues of all connections together stay within
// Options.MaxQueuedNotificationBytes; what does not fit meets its subscription's policy (here
// drop-newest: lag notices), is counted, and the budget is whole again once the clients have
// read everything.
func TestNotificationBudget(t *testing.T) {
	if b := rpc.NewServer(nil).NotificationBudget(); b == nil || b.Stats().Limit != 256<<20 {
		t.Fatalf("default budget %+v, want 256 MiB", b)
	}
	if b := rpc.NewServer(&rpc.Options{MaxQueuedNotificationBytes: -1}).NotificationBudget(); b != nil {
		t.Fatalf("a negative MaxQueuedNotificationBytes gave a budget of %+v", b.Stats())
	}
	const n, size, limit = 2000, 1000, 100 << 10
	srv := rpctest.NewServer(t, &rpc.Options{MaxQueuedNotificationBytes: limit})
	budget := srv.NotificationBudget()
	type client struct {
		c net.Conn
		r *bufio.Reader
	}
	var clients []client
	for range 3 { // each alone could queue 2000 × 1 kB: its own limit is 8 MiB
		c, r := rawPipe(t, srv)
		fmt.Fprintf(c, `{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["flood",%d,%d,"drop-newest"]}`+"\n", n, size)
		if answer, err := readNote(t, c, r); err != nil || answer.Error != nil {
			t.Fatalf("subscribe: %v %v", err, answer.Error)
		}
		clients = append(clients, client{c, r})
	}
	time.Sleep(200 * time.Millisecond) // the producers run into the budget
	if st := budget.Stats(); st.Used > limit || st.Dropped == 0 {
		t.Fatalf("with stalled clients: %+v; want at most %d bytes used and drops counted", st, limit)
	}
	for i, cl := range clients {
		got, dropped := 0, 0
		for got+dropped < n {
			note, err := readNote(t, cl.c, cl.r)
			if err != nil {
				t.Fatalf("client %d, after %d notifications and %d dropped: %v", i, got, dropped, err)
			}
			switch note.Method {
			case "nftest_subscriptionLag":
				dropped += note.Params.Dropped
			case "nftest_subscription":
				got++
			}
		}
		t.Logf("client %d: %d delivered, %d dropped", i, got, dropped)
	}
	if st := budget.Stats(); st.Used != 0 {
		t.Errorf("after every notification was read: %+v, want nothing used", st)
	}
}
