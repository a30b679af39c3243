package transports_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports"
	"github.com/polyrpc/polyrpc/transports/ipc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// The reconnecting client end to end, over real sockets (WebSocket on 127.0.0.1, IPC): the
// server's side of every connection is cut, the listener closed and opened again on the same
// address, while a Feed publishes.

const reconnectWait = 20 * time.Second // bound of every wait of these tests

// feedService is registered as "feed": feed_subscribe("topic", name, since) follows a topic of
// its Feed, and feed_hold waits until its connection ends.
type feedService struct {
	feed    *subscriptions.Feed
	entered chan struct{}
}

// Topic follows topic name of the Feed, resuming after since.
func (s *feedService) Topic(ctx context.Context, name string, since *subscriptions.Position) (*subscriptions.Subscription, error) {
	n, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	sub := n.CreateSubscription()
	if err := s.feed.SubscribeFrom(ctx, name, sub, since); err != nil {
		return nil, err
	}
	return sub, nil
}

// Hold tells it has started and waits until its context ends.
func (s *feedService) Hold(ctx context.Context) error {
	s.entered <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// cutServer is a server on one address that the test can take down and bring back.
type cutServer interface {
	endpoint() string
	cut(t *testing.T)     // closes the listener and every connection accepted on it
	restart(t *testing.T) // listens again on the same address
}

// wsServer serves WebSocket on 127.0.0.1 and tracks the connections it accepts, which
// http.Server forgets once they are hijacked.
type wsServer struct {
	h    http.Handler
	addr string

	mu    sync.Mutex
	hs    *http.Server
	conns []net.Conn
}

func (s *wsServer) endpoint() string { return "ws://" + s.addr }

func (s *wsServer) restart(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	hs := &http.Server{Handler: s.h, ConnState: func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}}
	s.mu.Lock()
	s.hs = hs
	s.mu.Unlock()
	go hs.Serve(ln) // returns when cut closes the listener
}

func (s *wsServer) cut(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hs.Close()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// ipcServer serves IPC on a path: cut closes the endpoint, restart serves the path again.
type ipcServer struct {
	srv  *rpc.Server
	path string
	ep   *ipc.Endpoint
}

func (s *ipcServer) endpoint() string { return s.path }

func (s *ipcServer) restart(t *testing.T) {
	t.Helper()
	ep, err := ipc.Serve(s.srv, s.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.ep = ep
}

func (s *ipcServer) cut(t *testing.T) {
	if err := s.ep.Close(); err != nil {
		t.Error(err)
	}
}

// reconnectEnv is a server with a feed service on one transport and a reconnecting client.
type reconnectEnv struct {
	svc    *feedService
	server cutServer
	client *rpc.Client
	events chan rpc.ConnEvent
	down   bool
}

func newReconnectEnv(t *testing.T, transport string, feed *subscriptions.Feed) *reconnectEnv {
	t.Helper()
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	e := &reconnectEnv{svc: &feedService{feed: feed, entered: make(chan struct{}, 1)}, events: make(chan rpc.ConnEvent, 4096)}
	if err := srv.Register("feed", e.svc); err != nil {
		t.Fatal(err)
	}
	switch transport {
	case "ws":
		e.server = &wsServer{h: wsrpc.NewHandler(srv, nil), addr: "127.0.0.1:0"}
	case "ipc":
		path := `\\.\pipe\polyrpc-reconnect-` + t.Name()
		if runtime.GOOS != "windows" {
			dir, err := os.MkdirTemp("", "rc") // short: socket paths are limited to about 100 bytes
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			path = filepath.Join(dir, "rpc.ipc")
		}
		e.server = &ipcServer{srv: srv, path: path}
	}
	e.server.restart(t)
	opts := &transports.Options{Reconnect: &rpc.ReconnectOptions{
		MinDelay: 5 * time.Millisecond,
		MaxDelay: 50 * time.Millisecond,
		OnConnState: func(ev rpc.ConnEvent) {
			select {
			case e.events <- ev:
			default:
			}
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), reconnectWait)
	defer cancel()
	c, err := transports.Dial(ctx, e.server.endpoint(), opts)
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	t.Cleanup(func() {
		c.Close()
		srv.Stop()
		if !e.down {
			e.server.cut(t)
		}
	})
	return e
}

// cut takes the server down and waits until the client knows.
func (e *reconnectEnv) cut(t *testing.T) {
	t.Helper()
	e.server.cut(t)
	e.down = true
	e.waitEvent(t, false)
}

// restart brings the server back and waits until the client has reconnected.
func (e *reconnectEnv) restart(t *testing.T) {
	t.Helper()
	e.server.restart(t)
	e.down = false
	e.waitEvent(t, true)
}

func (e *reconnectEnv) waitEvent(t *testing.T, up bool) {
	t.Helper()
	timeout := time.After(reconnectWait)
	for {
		select {
		case ev := <-e.events:
			if ev.Up == up {
				return
			}
		case <-timeout:
			t.Fatalf("no connection event with Up=%v", up)
		}
	}
}

func newFeed(events, maxReplay int) *subscriptions.Feed {
	return &subscriptions.Feed{Broker: subscriptions.NewMemoryBroker(subscriptions.Retention{Events: events}), MaxReplay: maxReplay}
}

func send(t *testing.T, f *subscriptions.Feed, topic string, v int) subscriptions.Position {
	t.Helper()
	pos, err := f.Send(context.Background(), topic, v)
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

// TestReconnectFeed: while a Feed publishes 3000 values, the server is cut twice and 200
// values are published during each outage; the subscriber's channel receives every value
// once, in order, without a gap reported, and the subscription's position follows.
func TestReconnectFeed(t *testing.T) {
	for _, transport := range []string{"ws", "ipc"} {
		t.Run(transport, func(t *testing.T) {
			const n, outage = 3000, 200
			feed := newFeed(n, n)
			e := newReconnectEnv(t, transport, feed)
			ch := make(chan int, 16)
			sub, err := e.client.Subscribe(context.Background(), "feed", ch, "topic", "t")
			if err != nil {
				t.Fatal(err)
			}
			// The first value is received before the first cut: the position notice, which
			// precedes it, has reached the client then (one that had not would make the
			// subscription resume without a position, with a gap).
			last := send(t, feed, "t", 0)
			if err := receiveAll(sub, ch, 0, 1); err != nil {
				t.Fatal(err)
			}
			result := make(chan error, 1)
			go func() { result <- receiveAll(sub, ch, 1, n) }()
			for i := 1; i < n; i++ {
				if i == n/3 || i == 2*n/3 {
					e.cut(t)
				}
				last = send(t, feed, "t", i)
				if i == n/3+outage || i == 2*n/3+outage {
					e.restart(t)
				}
			}
			if err := <-result; err != nil {
				t.Fatal(err)
			}
			sub.Unsubscribe() // Position is final then
			if pos, ok := sub.Position(); !ok || pos != last {
				t.Fatalf("Position() = %+v, %v; the last value was published at %+v", pos, ok, last)
			}
		})
	}
}

// receiveAll receives from to n-1 from ch, in order, and fails on anything else: another
// value, a gap, the subscription's end, a timeout.
func receiveAll(sub *rpc.ClientSubscription, ch <-chan int, from, n int) error {
	timeout := time.After(reconnectWait)
	for want := from; want < n; want++ {
		select {
		case v := <-ch:
			if v != want {
				return fmt.Errorf("received %d where %d was due", v, want)
			}
		case g := <-sub.Gaps():
			return fmt.Errorf("gap before %d: %w", want, g)
		case err := <-sub.Err():
			return fmt.Errorf("ended before %d: %w", want, err)
		case <-timeout:
			return fmt.Errorf("timed out waiting for %d", want)
		}
	}
	return nil
}

// TestReconnectTrimmed: values published during the outage outnumber what the broker keeps,
// so the resume cannot recover: the gap is reported, from the last value received to the
// newest one published, and live values follow.
func TestReconnectTrimmed(t *testing.T) {
	for _, transport := range []string{"ws", "ipc"} {
		t.Run(transport, func(t *testing.T) {
			feed := newFeed(5, 0)
			e := newReconnectEnv(t, transport, feed)
			ch := make(chan int, 16)
			sub, err := e.client.Subscribe(context.Background(), "feed", ch, "topic", "t")
			if err != nil {
				t.Fatal(err)
			}
			var received subscriptions.Position
			for i := range 10 {
				received = send(t, feed, "t", i)
			}
			if err := receiveAll(sub, ch, 0, 10); err != nil {
				t.Fatal(err)
			}
			e.cut(t)
			var top subscriptions.Position
			for i := 10; i < 30; i++ {
				top = send(t, feed, "t", i)
			}
			e.restart(t)
			select {
			case g := <-sub.Gaps():
				if !g.Reconnected || g.From != received || g.To != top {
					t.Fatalf("gap %+v, want from %+v to %+v after a reconnect", g, received, top)
				}
			case v := <-ch:
				t.Fatalf("received %d before the gap was reported", v)
			case <-time.After(reconnectWait):
				t.Fatal("no gap reported")
			}
			for i := 30; i < 40; i++ {
				send(t, feed, "t", i)
			}
			for want := 30; want < 40; want++ {
				select {
				case v := <-ch:
					if v != want {
						t.Fatalf("received %d, want %d", v, want)
					}
				case <-time.After(reconnectWait):
					t.Fatalf("no %d", want)
				}
			}
		})
	}
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

// TestReconnectCalls: a call in flight when the server is cut fails with ErrConnectionLost; a
// call made during the outage waits and is answered after the restart, unless its deadline
// comes first.
func TestReconnectCalls(t *testing.T) {
	for _, transport := range []string{"ws", "ipc"} {
		t.Run(transport, func(t *testing.T) {
			e := newReconnectEnv(t, transport, newFeed(0, 0))
			ctx := context.Background()
			inFlight := make(chan error, 1)
			go func() { inFlight <- e.client.Call(ctx, nil, "feed_hold") }()
			select {
			case <-e.svc.entered:
			case <-time.After(reconnectWait):
				t.Fatal("feed_hold did not start")
			}
			e.cut(t)
			if err := <-inFlight; !errors.Is(err, rpc.ErrConnectionLost) {
				t.Fatalf("call in flight: %v, want ErrConnectionLost", err)
			}

			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			err := e.client.Call(short, nil, "test_add", 1, 2)
			cancel()
			if !errors.Is(err, rpc.ErrConnectionLost) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("call with a deadline during the outage: %v", err)
			}

			wctx := &doneWatch{Context: ctx, asked: make(chan struct{})}
			waiting := make(chan error, 1)
			var sum int
			go func() { waiting <- e.client.Call(wctx, &sum, "test_add", 40, 2) }()
			select {
			case <-wctx.asked:
			case <-time.After(reconnectWait):
				t.Fatal("the call made during the outage does not wait")
			}
			e.restart(t)
			select {
			case err := <-waiting:
				if err != nil || sum != 42 {
					t.Fatalf("call made during the outage: %d, %v", sum, err)
				}
			case <-time.After(reconnectWait):
				t.Fatal("the call made during the outage was not answered")
			}
		})
	}
}

// TestREADMEReconnectExample: the README shows Example_reconnect as it is.
func TestREADMEReconnectExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_reconnect_test.go")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(src, []byte("// News is an example service"))
	if i < 0 || !bytes.Contains(readme, append([]byte("```go\n"), src[i:]...)) {
		t.Fatal("the README's reconnect example differs from Example_reconnect in example_reconnect_test.go")
	}
}
