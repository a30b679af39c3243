package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// waiter's methods tell when they start and how their context ended.
type waiter struct {
	started chan string   // the method's name, when it starts
	ended   chan error    // the method's context's error, when it returns
	release chan struct{} // Stubborn returns when it is closed
}

func newWaiter() *waiter {
	return &waiter{started: make(chan string, 10), ended: make(chan error, 10), release: make(chan struct{})}
}

// Wait returns when its context ends.
func (w *waiter) Wait(ctx context.Context) error {
	w.started <- "wait"
	<-ctx.Done()
	w.ended <- ctx.Err()
	return ctx.Err()
}

// Stubborn ignores its context until released.
func (w *waiter) Stubborn(ctx context.Context) string {
	w.started <- "stubborn"
	<-w.release
	w.ended <- ctx.Err()
	return "done"
}

// cancelConn serves a test server with waiter registered as "w" on one end of a pipe and
// returns the other end as a wire.
func cancelConn(t *testing.T, opts *rpc.Options) (*waiter, *rpctest.StreamWire) {
	t.Helper()
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, opts)
	w := newWaiter()
	if err := srv.Register("w", w); err != nil {
		t.Fatal(err)
	}
	client, server := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(server, rpc.ConnOptions{}) }()
	t.Cleanup(func() {
		client.Close()
		srv.Stop()
		<-served
	})
	return w, rpctest.NewStreamWire(client)
}

func send(t *testing.T, w *rpctest.StreamWire, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := w.Send([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
}

func answer(t *testing.T, w *rpctest.StreamWire) string {
	t.Helper()
	msg, err := w.Recv(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(msg))
}

func started(t *testing.T, w *waiter, n int) {
	t.Helper()
	for range n {
		select {
		case <-w.started:
		case <-time.After(10 * time.Second):
			t.Fatal("the call did not start")
		}
	}
}

const cancelled = `"error":{"code":-32800,"message":"request cancelled"}}`

// TestCancel: the cancel notification cancels the call it names, wherever it runs; the call
// is answered -32800.
func TestCancel(t *testing.T) {
	wait := func(id string) string { return `{"jsonrpc":"2.0","id":` + id + `,"method":"w_wait"}` }
	cancel := func(id string) string {
		return `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":` + id + `}}`
	}
	t.Run("inline", func(t *testing.T) {
		// The call runs on the reading goroutine: the cancel is read once the watchdog has
		// taken reading over.
		w, c := cancelConn(t, nil)
		send(t, c, wait("1"))
		started(t, w, 1)
		send(t, c, cancel("1"))
		if got, want := answer(t, c), `{"jsonrpc":"2.0","id":1,`+cancelled; got != want {
			t.Errorf("answer %s, want %s", got, want)
		}
		if err := <-w.ended; err != context.Canceled {
			t.Errorf("the method's context ended with %v", err)
		}
	})
	t.Run("workers", func(t *testing.T) {
		w, c := cancelConn(t, nil)
		send(t, c, wait(`"a"`), wait(`"b"`))
		started(t, w, 2)
		send(t, c, cancel(`"b"`), `{"jsonrpc":"2.0","method":"$/cancelRequest","params":["a"]}`)
		got := []string{answer(t, c), answer(t, c)}
		want := []string{`{"jsonrpc":"2.0","id":"b",` + cancelled, `{"jsonrpc":"2.0","id":"a",` + cancelled}
		if got[0] != want[0] && got[0] != want[1] || got[1] != want[0] && got[1] != want[1] || got[0] == got[1] {
			t.Errorf("answers %s, want %s", got, want)
		}
	})
	t.Run("all slots taken", func(t *testing.T) {
		// With its one call slot taken, the connection still reads a cancel notification.
		w, c := cancelConn(t, &rpc.Options{MaxConcurrentCalls: 1})
		send(t, c, wait("1"))
		started(t, w, 1)
		send(t, c, cancel("1"))
		if got := answer(t, c); got != `{"jsonrpc":"2.0","id":1,`+cancelled {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("batch", func(t *testing.T) {
		// The id of any call of a batch cancels the batch: its calls not yet answered.
		w, c := cancelConn(t, nil)
		send(t, c, `[{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]},`+wait("2")[:len(wait("2"))]+`,`+wait("3")+`,{"jsonrpc":"2.0","id":4,"method":"test_add","params":[1,2]}]`)
		started(t, w, 1)
		send(t, c, cancel("3"))
		want := `[{"jsonrpc":"2.0","id":1,"result":3},{"jsonrpc":"2.0","id":2,` + cancelled + `,{"jsonrpc":"2.0","id":3,` + cancelled + `,{"jsonrpc":"2.0","id":4,` + cancelled + `]`
		if got := answer(t, c); got != want {
			t.Errorf("answer\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("unknown and finished", func(t *testing.T) {
		w, c := cancelConn(t, nil)
		send(t, c, `{"jsonrpc":"2.0","id":5,"method":"test_add","params":[1,2]}`)
		if got := answer(t, c); got != `{"jsonrpc":"2.0","id":5,"result":3}` {
			t.Fatalf("answer %s", got)
		}
		send(t, c, cancel("5"), wait("1"))
		started(t, w, 1)
		send(t, c, cancel("99"), cancel("5"), `{"jsonrpc":"2.0","method":"$/cancelRequest"}`, `{"jsonrpc":"2.0","id":6,"method":"test_add","params":[2,2]}`)
		if got := answer(t, c); got != `{"jsonrpc":"2.0","id":6,"result":4}` {
			t.Fatalf("answer %s, want id 6's: the cancels of other ids do nothing", got)
		}
		send(t, c, cancel("1"))
		if got := answer(t, c); got != `{"jsonrpc":"2.0","id":1,`+cancelled {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("method ignores its context", func(t *testing.T) {
		// Answered -32800 when it returns, since it was cancelled before it answered.
		w, c := cancelConn(t, nil)
		send(t, c, `{"jsonrpc":"2.0","id":1,"method":"w_stubborn"}`, wait("2"))
		started(t, w, 2)
		send(t, c, cancel("1"), cancel("2"))
		if got := answer(t, c); got != `{"jsonrpc":"2.0","id":2,`+cancelled {
			t.Errorf("answer %s", got)
		}
		close(w.release)
		if got := answer(t, c); got != `{"jsonrpc":"2.0","id":1,`+cancelled {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		w, c := cancelConn(t, &rpc.Options{CancelMethod: "-"})
		send(t, c, `{"jsonrpc":"2.0","id":1,"method":"w_stubborn"}`, wait("2"))
		started(t, w, 2)
		send(t, c, cancel("1"), cancel("2"))
		close(w.release)
		if got := answer(t, c); got != `{"jsonrpc":"2.0","id":1,"result":"done"}` {
			t.Errorf("answer %s: cancellation is off", got)
		}
	})
	t.Run("own name", func(t *testing.T) {
		w, c := cancelConn(t, &rpc.Options{CancelMethod: "rpc.cancel"})
		send(t, c, wait("1"))
		started(t, w, 1)
		send(t, c, cancel("1"), `{"jsonrpc":"2.0","method":"rpc.cancel","params":[1]}`)
		if got := answer(t, c); got != `{"jsonrpc":"2.0","id":1,`+cancelled {
			t.Errorf("answer %s", got)
		}
	})
}

// TestClientCancels: with SetCancelMethod, a client over a connection cancels on the server
// the call whose context ended; in-process, the context itself reaches the method.
func TestClientCancels(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	w := newWaiter()
	if err := srv.Register("w", w); err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(b, rpc.ConnOptions{}) }()
	stream := rpc.NewClient(rpc.NewStreamConn(a, 0))
	stream.SetCancelMethod(rpc.DefaultCancelMethod)
	local, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *rpc.Client
	}{{"stream", stream}, {"inproc", local}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, batch := range []bool{false, true} {
				ctx, cancel := context.WithCancel(context.Background())
				errc := make(chan error, 1)
				go func() {
					if batch {
						errc <- tc.client.BatchCall(ctx, []rpc.BatchElem{{Method: "test_add", Args: []any{1, 2}}, {Method: "w_wait"}})
					} else {
						errc <- tc.client.Call(ctx, nil, "w_wait")
					}
				}()
				started(t, w, 1)
				cancel()
				if err := <-errc; !errors.Is(err, context.Canceled) {
					t.Errorf("call: %v", err)
				}
				select {
				case err := <-w.ended:
					if err != context.Canceled {
						t.Errorf("the method's context: %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the method was not cancelled")
				}
			}
		})
	}
	local.Close()
	stream.Close()
	<-served
	srv.Stop()
}
