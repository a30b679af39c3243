package rpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// events returns hooks that describe each call as one line on the returned channel.
func events() (rpc.Hooks, chan string) {
	ch := make(chan string, 100)
	conn := func(c *rpc.ConnInfo) string { return c.Peer.Transport }
	return rpc.Hooks{
		ConnOpened: func(c *rpc.ConnInfo) { ch <- "opened " + conn(c) },
		ConnClosed: func(c *rpc.ConnInfo, reason string) { ch <- fmt.Sprintf("closed %s %q", conn(c), reason) },
		Refused:    func(c *rpc.ConnInfo, reason string) { ch <- fmt.Sprintf("refused %s %q", conn(c), reason) },
		SubscriptionStarted: func(c *rpc.ConnInfo, m *rpc.MethodInfo) {
			ch <- "started " + m.Name + "(" + m.Subscription + ")"
		},
		SubscriptionEnded: func(c *rpc.ConnInfo, m *rpc.MethodInfo) {
			ch <- "ended " + m.Name + "(" + m.Subscription + ")"
		},
		NotificationsSent: func(c *rpc.ConnInfo, m *rpc.MethodInfo, n int) {
			ch <- fmt.Sprintf("sent %s(%s) %d", m.Name, m.Subscription, n)
		},
		NotificationsDropped: func(c *rpc.ConnInfo, m *rpc.MethodInfo, p subscriptions.Policy, n int) {
			ch <- fmt.Sprintf("dropped %s(%s) %s %d", m.Name, m.Subscription, p, n)
		},
	}, ch
}

// expect reads the events want from ch, in any order, and fails on others.
func expect(t *testing.T, ch chan string, want ...string) {
	t.Helper()
	left := make(map[string]int)
	for _, w := range want {
		left[w]++
	}
	timeout := time.After(5 * time.Second)
	for n := 0; n < len(want); n++ {
		select {
		case e := <-ch:
			if left[e] == 0 {
				t.Fatalf("event %s, want %q", e, want)
			}
			left[e]--
		case <-timeout:
			t.Fatalf("missing events, want %q; left: %v", want, left)
		}
	}
}

// burst is a subscription service whose subscription sends n notifications before its
// subscribe call returns: they are held until the answer is written, so with a queue of q
// notifications exactly q are sent and n-q dropped.
type burst struct{}

func (burst) Burst(ctx context.Context, n int) (*subscriptions.Subscription, error) {
	nt, _ := subscriptions.NotifierFromContext(ctx)
	sub := nt.CreateSubscription(subscriptions.WithPolicy(subscriptions.DropNewest))
	for i := range n {
		sub.Notify(i)
	}
	return sub, nil
}

// TestHooksRefused: a message refused before it became a call is reported with its reason.
func TestHooksRefused(t *testing.T) {
	rpctest.CheckLeaks(t)
	hooks, ch := events()
	srv := rpctest.NewServer(t, &rpc.Options{Hooks: hooks, MaxMessageBytes: 200, BatchItemLimit: 2})
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: "test"}}, rpctest.NewInbox())
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	expect(t, ch, "opened test")
	for _, tc := range []struct{ name, msg, want string }{
		{"too large", `{"jsonrpc":"2.0","id":1,"method":"test_repeat","params":["` + strings.Repeat("x", 200) + `",1]}`, `refused test "message too large"`},
		{"not JSON", `{"jsonrpc":`, `refused test "invalid"`},
		{"not a request", `{"jsonrpc":"1.0","id":1,"method":"test_add"}`, `refused test "invalid"`},
		{"empty", ` `, `refused test "invalid"`},
		{"empty batch", `[]`, `refused test "invalid"`},
		{"batch too large", `[{"jsonrpc":"2.0","method":"test_incr"},{"jsonrpc":"2.0","method":"test_incr"},{"jsonrpc":"2.0","method":"test_incr"}]`, `refused test "batch too large"`},
		{"invalid item", `[{"jsonrpc":"2.0","method":"test_incr"},5]`, `refused test "invalid"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ss.Handle(context.Background(), []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			expect(t, ch, tc.want)
		})
	}
	srv.ReportRefusal(rpc.PeerInfo{Transport: "elsewhere"}, rpc.RefusedAuth)
	expect(t, ch, `refused elsewhere "auth"`)

	// On a connection: a message the framer skipped.
	client, server := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(server, rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: "ipc"}}) }()
	w := rpctest.NewStreamWire(client)
	w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_repeat","params":["` + strings.Repeat("x", 300) + `",1]}`))
	if _, err := w.Recv(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	client.Close()
	<-served
	expect(t, ch, "opened ipc", `refused ipc "message too large"`, `closed ipc ""`)
	ss.Close()
	expect(t, ch, `closed test ""`)
}

// TestHooksConnections: each connection is reported opened, then closed once with why.
func TestHooksConnections(t *testing.T) {
	rpctest.CheckLeaks(t)
	hooks, ch := events()
	closer := func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			if c.Method.Name == "test_fail" {
				return rpc.Outcome{Close: "no failures here"}
			}
			return next(ctx, c)
		}
	}
	srv := rpctest.NewServer(t, &rpc.Options{Hooks: hooks, Middleware: []rpc.Middleware{closer}})
	serve := func(opts rpc.ConnOptions, reqs ...string) (net.Conn, chan error) {
		client, server := net.Pipe()
		served := make(chan error, 1)
		opts.Peer.Transport = "ipc"
		go func() { served <- srv.ServeStream(server, opts) }()
		w := rpctest.NewStreamWire(client)
		for _, r := range reqs {
			w.Send([]byte(r))
		}
		return client, served
	}

	// The client ends the connection.
	client, served := serve(rpc.ConnOptions{})
	client.Close()
	<-served
	expect(t, ch, "opened ipc", `closed ipc ""`)

	// A middleware closes it.
	client, served = serve(rpc.ConnOptions{}, `{"jsonrpc":"2.0","id":1,"method":"test_fail"}`)
	<-served
	client.Close()
	expect(t, ch, "opened ipc", `closed ipc "no failures here"`)

	// The principal expires.
	client, served = serve(rpc.ConnOptions{Principal: "p", PrincipalExpires: time.Now().Add(20 * time.Millisecond)})
	<-served
	client.Close()
	expect(t, ch, "opened ipc", `closed ipc "authentication expired"`)

	// The server stops.
	client, served = serve(rpc.ConnOptions{}, `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`)
	rpctest.NewStreamWire(client).Recv(5 * time.Second)
	srv.Stop()
	<-served
	client.Close()
	expect(t, ch, "opened ipc", `closed ipc "server stopped"`)
}

// TestHooksSubscriptions: subscriptions are reported started and ended, and their
// notifications sent and dropped, by method.
func TestHooksSubscriptions(t *testing.T) {
	rpctest.CheckLeaks(t)
	hooks, ch := events()
	srv := rpctest.NewServer(t, &rpc.Options{Hooks: hooks, Subscriptions: subscriptions.Limits{MaxQueued: 5}})
	if err := srv.Register("burst", burst{}); err != nil {
		t.Fatal(err)
	}
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: "test"}}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, "opened test")
	ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"burst_subscribe","params":["burst",50]}`))
	for range 1 + 5 + 1 { // the answer, 5 notifications, the lag notice
		recv(t, inbox)
	}
	expect(t, ch, "started burst_subscribe(burst)", "sent burst_subscribe(burst) 5", "dropped burst_subscribe(burst) drop-newest 45")

	ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":2,"method":"nftest_subscribe","params":["ticks",3,0]}`))
	var id json.RawMessage
	for range 4 {
		var a struct {
			ID     int
			Result json.RawMessage
		}
		json.Unmarshal([]byte(recv(t, inbox)), &a)
		if a.ID == 2 {
			id = a.Result
		}
	}
	// The three notifications may be written in one burst or more.
	started := false
	for sent := 0; sent < 3 || !started; {
		e := <-ch
		if e == "started nftest_subscribe(ticks)" && !started {
			started = true
			continue
		}
		var n int
		if _, err := fmt.Sscanf(e, "sent nftest_subscribe(ticks) %d", &n); err != nil {
			t.Fatalf("event %q", e)
		}
		sent += n
	}
	ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":3,"method":"nftest_unsubscribe","params":[`+string(id)+`]}`))
	if got := recv(t, inbox); got != `{"jsonrpc":"2.0","id":3,"result":true}` {
		t.Fatalf("unsubscribe: %s", got)
	}
	expect(t, ch, "ended nftest_subscribe(ticks)")
	ss.Close()
	expect(t, ch, "ended burst_subscribe(burst)", `closed test ""`)
}
