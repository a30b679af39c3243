package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports"
)

// Subscriptions across the two libraries, over WebSocket and IPC: go-ethereum's client against
// polyrpc's server (rpctest's nftest service), and polyrpc's client against go-ethereum's
// server (gethSubs of sub_servers_test.go, registered as nftest).

// subEndpoints are polyEndpoints's WebSocket and IPC entries.
func subEndpoints() []polyEndpoint {
	var out []polyEndpoint
	for _, ep := range polyEndpoints {
		if ep.name != "http" {
			out = append(out, ep)
		}
	}
	return out
}

// dialGethClient dials go-ethereum's client to a WebSocket URL or an IPC path.
func dialGethClient(ctx context.Context, t *testing.T, transport, endpoint string) *gethrpc.Client {
	t.Helper()
	var c *gethrpc.Client
	var err error
	if transport == "ws" {
		c, err = gethrpc.DialWebsocket(ctx, endpoint, "")
	} else {
		c, err = gethrpc.DialIPC(ctx, endpoint)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// serverSubs returns the live subscriptions of every connection of srv.
func serverSubs(srv *rpc.Server) int {
	n := 0
	for _, ci := range srv.Conns() {
		n += ci.Subscriptions
	}
	return n
}

// waitFor polls cond every 5 ms until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recvTicks receives n values from ch and checks that they are start, start+1, …
func recvTicks[T ~int](ctx context.Context, t *testing.T, ch <-chan T, errc <-chan error, n, start int) {
	t.Helper()
	for i := range n {
		select {
		case v := <-ch:
			if int(v) != start+i {
				t.Fatalf("notification %d: %d, want %d", i, v, start+i)
			}
		case err := <-errc:
			t.Fatalf("subscription ended after %d notifications: %v", i, err)
		case <-ctx.Done():
			t.Fatalf("%d of %d notifications received: %v", i, n, ctx.Err())
		}
	}
}

// TestGethClientPolySubscribe: go-ethereum's client subscribes to polyrpc's server.
func TestGethClientPolySubscribe(t *testing.T) {
	for _, ep := range subEndpoints() {
		t.Run(ep.name+"/ticks", func(t *testing.T) {
			rpctest.CheckLeaks(t)
			ctx := interopCtx(t)
			srv := rpctest.NewServer(t, nil)
			c := dialGethClient(ctx, t, ep.name, ep.start(t, srv))

			const n, start = 5000, 7
			ch := make(chan int)
			sub, err := c.Subscribe(ctx, "nftest", ch, "ticks", n, start)
			if err != nil {
				t.Fatal(err)
			}
			recvTicks(ctx, t, ch, sub.Err(), n, start)
			if got := serverSubs(srv); got != 1 {
				t.Fatalf("the server holds %d subscriptions, want 1", got)
			}
			sub.Unsubscribe()
			if err, ok := <-sub.Err(); ok {
				t.Errorf("Err after Unsubscribe: %v", err)
			}
			waitFor(t, "the server to drop the subscription", func() bool { return serverSubs(srv) == 0 })
			var sum int
			if err := c.CallContext(ctx, &sum, "test_add", 40, 2); err != nil || sum != 42 {
				t.Errorf("test_add after Unsubscribe: %d, %v", sum, err)
			}
			// An unknown subscription: go-ethereum's client returns the server's error.
			if _, err := c.Subscribe(ctx, "nftest", ch, "nope"); err == nil {
				t.Error("subscribing to nftest nope succeeded")
			}
		})

		t.Run(ep.name+"/topic-positions", func(t *testing.T) {
			rpctest.CheckLeaks(t)
			ctx := interopCtx(t)
			srv := rpctest.NewServer(t, nil)
			c := dialGethClient(ctx, t, ep.name, ep.start(t, srv))
			// A Feed subscription: each notification carries "offset" next to its result, and
			// a nftest_subscriptionPosition notice follows the answer; go-ethereum's client
			// reads the results and ignores the rest. Resuming from a position of another
			// epoch is accepted (not recovered: live values only).
			const n = 500
			ch, resumed := make(chan int, n), make(chan int, n)
			sub, err := c.Subscribe(ctx, "nftest", ch, "topic", "geth")
			if err != nil {
				t.Fatal(err)
			}
			sub2, err := c.Subscribe(ctx, "nftest", resumed, "topic", "geth", map[string]any{"epoch": "elsewhere", "offset": 3})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if err := c.CallContext(ctx, nil, "nftest_publish", "geth", i); err != nil {
					t.Fatal(err)
				}
			}
			recvTicks(ctx, t, ch, sub.Err(), n, 0)
			recvTicks(ctx, t, resumed, sub2.Err(), n, 0)
			sub.Unsubscribe()
			sub2.Unsubscribe()
			waitFor(t, "the server to drop the subscriptions", func() bool { return serverSubs(srv) == 0 })
		})

		t.Run(ep.name+"/lag-notices", func(t *testing.T) {
			rpctest.CheckLeaks(t)
			ctx := interopCtx(t)
			// A small queue, so that the flood overflows it whatever the machine's speed.
			srv := rpctest.NewServer(t, &rpc.Options{Subscriptions: subscriptions.Limits{MaxQueued: 16}})
			network := "tcp"
			if ep.name == "ipc" {
				network = "unix"
			}
			tap := startTap(t, network, ep.start(t, srv))
			c := dialGethClient(ctx, t, ep.name, tap.endpoint(ep.name))

			// The flood: n notifications sent as fast as Notify takes them, the newest dropped
			// when the queue is full, each drop reported by a nftest_subscriptionLag notice,
			// which go-ethereum's client does not know and must ignore.
			const n = 20000
			floodCh := make(chan rpctest.FloodItem)
			flood, err := c.Subscribe(ctx, "nftest", floodCh, "flood", n, 64, "drop-newest")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			received, last := 0, -1
			var order error
			stop := make(chan struct{})
			consumed := make(chan struct{})
			go func() {
				defer close(consumed)
				for {
					select {
					case it := <-floodCh:
						mu.Lock()
						if it.I <= last && order == nil {
							order = errors.New("flood notification " + strconv.Itoa(it.I) + " after " + strconv.Itoa(last))
						}
						received, last = received+1, it.I
						mu.Unlock()
					case <-stop:
						return
					}
				}
			}()
			defer func() { close(stop); <-consumed }()
			// Every notification is either received by go-ethereum's client or counted as
			// dropped in a lag notice that went through the tap to it.
			waitFor(t, "every flood notification received or reported dropped", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return received+int(tap.dropped()) >= n
			})
			mu.Lock()
			if received+int(tap.dropped()) != n || order != nil {
				t.Errorf("flood: %d received + %d reported dropped, want %d; order: %v", received, tap.dropped(), n, order)
			}
			got, notices := received, tap.notices()
			mu.Unlock()
			if notices == 0 || got == 0 {
				t.Fatalf("flood: %d received, %d lag notices: the test needs both", got, notices)
			}
			t.Logf("flood over %s: %d received by go-ethereum's client, %d dropped in %d lag notices", ep.name, got, tap.dropped(), notices)
			select {
			case err := <-flood.Err():
				t.Fatalf("the flood subscription ended: %v", err)
			default:
			}

			// After the lag notices, go-ethereum's client still receives, in order.
			ch := make(chan int)
			ticks, err := c.Subscribe(ctx, "nftest", ch, "ticks", 1000, 1)
			if err != nil {
				t.Fatal(err)
			}
			recvTicks(ctx, t, ch, ticks.Err(), 1000, 1)
			if got := serverSubs(srv); got != 2 {
				t.Errorf("the server holds %d subscriptions, want 2", got)
			}
			ticks.Unsubscribe()
			flood.Unsubscribe()
			waitFor(t, "the server to drop the subscriptions", func() bool { return serverSubs(srv) == 0 })
		})
	}
}

// TestPolyClientGethSubscribe: polyrpc's client subscribes to go-ethereum's server.
func TestPolyClientGethSubscribe(t *testing.T) {
	for _, tr := range []string{"ws", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			ctx := interopCtx(t)
			svc := &gethSubs{}
			var endpoint string
			if tr == "ws" {
				srv := gethrpc.NewServer()
				if err := srv.RegisterName("nftest", svc); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(srv.Stop)
				ts := httptest.NewServer(srv.WebsocketHandler([]string{"*"}))
				t.Cleanup(ts.Close)
				endpoint = wsURL(ts.URL)
			} else {
				endpoint = socketPath(t)
				ln, srv, err := gethrpc.StartIPCEndpoint(endpoint, []gethrpc.API{{Namespace: "nftest", Service: svc}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					ln.Close()
					srv.Stop()
				})
			}
			c, err := transports.Dial(ctx, endpoint, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })

			const n, start = 5000, 3
			ch := make(chan int)
			sub, err := c.Subscribe(ctx, "nftest", ch, "ticks", n, start)
			if err != nil {
				t.Fatal(err)
			}
			if len(sub.ID()) < 3 || sub.ID()[:2] != "0x" {
				t.Errorf("subscription id %q", sub.ID())
			}
			recvTicks(ctx, t, ch, sub.Err(), n, start)
			if got := svc.active.Load(); got != 1 {
				t.Fatalf("go-ethereum's server has %d live subscriptions, want 1", got)
			}
			sub.Unsubscribe() // go-ethereum answers nftest_unsubscribe with true
			if err, ok := <-sub.Err(); ok {
				t.Errorf("Err after Unsubscribe: %v", err)
			}
			waitFor(t, "go-ethereum's server to end the subscription", func() bool { return svc.active.Load() == 0 })

			// A second subscription on the same connection, then one the server refuses.
			ch2 := make(chan int)
			sub2, err := c.Subscribe(ctx, "nftest", ch2, "ticks", 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			recvTicks(ctx, t, ch2, sub2.Err(), 100, 0)
			sub2.Unsubscribe()
			_, err = c.Subscribe(ctx, "nftest", ch2, "nope")
			var ce rpc.CodedError
			if !errors.As(err, &ce) || ce.ErrorCode() != -32601 {
				t.Errorf("subscribing to nftest nope: %v, want a -32601 error", err)
			}
			waitFor(t, "go-ethereum's server to end the subscriptions", func() bool { return svc.active.Load() == 0 })
		})
	}
}

// tap is a proxy between a client and a server that counts the lag notices
// (NS_subscriptionLag) the server sends and adds up their "dropped" counts, whatever the
// framing (the notices are small, uncompressed and unfragmented).
type tap struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []byte // the server's bytes not yet scanned
	n    int    // lag notices seen
	drop int64  // their dropped counts, added
}

var (
	lagMethod  = []byte(`_subscriptionLag"`)
	droppedKey = []byte(`"dropped":`)
)

// startTap listens on network (tcp on 127.0.0.1, or a unix socket) and forwards each
// connection to target (a ws:// URL, or a socket path).
func startTap(t *testing.T, network, target string) *tap {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = socketPath(t)
	} else {
		target = strings.TrimPrefix(target, "ws://")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{ln: ln}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			cc, err := ln.Accept()
			if err != nil {
				return
			}
			sc, err := net.Dial(network, target)
			if err != nil {
				cc.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, cc, sc)
			mu.Unlock()
			wg.Go(func() {
				io.Copy(sc, cc)
				sc.Close()
			})
			wg.Go(func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := sc.Read(buf)
					if n > 0 {
						tp.scan(buf[:n])
						if _, err := cc.Write(buf[:n]); err != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				cc.Close()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return tp
}

// endpoint returns what a client dials to reach the tap.
func (tp *tap) endpoint(transport string) string {
	if transport == "ws" {
		return "ws://" + tp.ln.Addr().String()
	}
	return tp.ln.Addr().String()
}

// scan counts the lag notices in the server's bytes b.
func (tp *tap) scan(b []byte) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.seen = append(tp.seen, b...)
	for {
		i := bytes.Index(tp.seen, lagMethod)
		if i < 0 {
			tp.seen = tp.seen[max(len(tp.seen)-len(lagMethod), 0):]
			break
		}
		j := bytes.Index(tp.seen[i:], droppedKey)
		if j < 0 {
			tp.seen = tp.seen[i:]
			break
		}
		k := i + j + len(droppedKey)
		e := k
		for e < len(tp.seen) && tp.seen[e] >= '0' && tp.seen[e] <= '9' {
			e++
		}
		if e == len(tp.seen) { // the number may go on in the next read
			tp.seen = tp.seen[i:]
			break
		}
		v, _ := strconv.ParseInt(string(tp.seen[k:e]), 10, 64)
		tp.n++
		tp.drop += v
		tp.seen = tp.seen[e:]
	}
	tp.seen = append([]byte(nil), tp.seen...) // do not keep the whole stream
}

func (tp *tap) notices() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.n
}

func (tp *tap) dropped() int64 {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.drop
}
