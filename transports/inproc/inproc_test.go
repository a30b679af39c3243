package inproc_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

var _ rpctest.Wire = (*wire)(nil)

// wire is a raw in-process connection for the transcript suite.
type wire struct {
	t     rpc.Transport
	inbox *rpctest.Inbox
}

func (w *wire) Send(msg []byte) error                { return w.t.Send(context.Background(), msg) }
func (w *wire) Recv(d time.Duration) ([]byte, error) { return w.inbox.Recv(d) }
func (w *wire) Close() error                         { return w.t.Close() }

func TestTranscripts(t *testing.T) {
	connect := func(opts *rpc.Options) rpctest.Dialer {
		return func(t testing.TB) rpctest.Wire {
			inbox := rpctest.NewInbox()
			tr, err := inproc.Connect(rpctest.NewServer(t, opts), rpc.ConnOptions{}, inbox.Put)
			if err != nil {
				t.Fatal(err)
			}
			return &wire{tr, inbox}
		}
	}
	for _, dir := range []string{"../../rpc/testdata", "../../rpc/testdata/push"} {
		rpctest.RunTranscripts(t, dir, connect(nil))
	}
	// The server calls the client, whose answer comes through Send while the call's Send
	// waits: each message is sent on a goroutine of its own.
	rpctest.RunTranscripts(t, "../../rpc/testdata/twoway", func(t testing.TB) rpctest.Wire {
		return &asyncWire{wire: connect(nil)(t).(*wire), t: t}
	})
	rpctest.RunTranscripts(t, "../../rpc/testdata/limits", connect(rpctest.LimitsOptions()))
}

// asyncWire is a wire whose Send returns at once, the message sent on a goroutine of its own.
type asyncWire struct {
	*wire
	t  testing.TB
	wg sync.WaitGroup
}

func (w *asyncWire) Send(msg []byte) error {
	msg = append([]byte(nil), msg...)
	w.wg.Go(func() {
		// A message still being sent when the transcript ends finds the connection closed.
		if err := w.wire.Send(msg); err != nil && !errors.Is(err, rpc.ErrClosed) {
			w.t.Errorf("send %s: %v", msg, err)
		}
	})
	return nil
}

func (w *asyncWire) Close() error {
	err := w.wire.Close()
	w.wg.Wait()
	return err
}

func dial(t *testing.T, opts *rpc.Options) (*rpc.Server, *rpc.Client) {
	t.Helper()
	srv := rpctest.NewServer(t, opts)
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestPeer(t *testing.T) {
	_, c := dial(t, nil)
	var transport string
	if err := c.Call(context.Background(), &transport, "test_peer"); err != nil {
		t.Fatal(err)
	}
	if transport != rpc.TransportInProc {
		t.Fatalf("transport %q, want %q", transport, rpc.TransportInProc)
	}
}

// TestCancelledContext: a call whose context ends returns at once, even though the method
// ignores its context; the method's goroutine is still owned (and waited for) by the server.
func TestCancelledContext(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv, c := dial(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Call(ctx, nil, "test_block", 500)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("call returned after %v; it should end with its context", d)
	}
	c.Close()
	srv.Stop()
}

func TestNamespaces(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	c, err := inproc.DialOptions(srv, rpc.ConnOptions{Namespaces: []string{"get"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var e *rpc.Error
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); !errors.As(err, &e) || e.Code != rpc.CodeMethodNotFound {
		t.Fatalf("test_add outside the exposed namespaces: err = %v, want -32601", err)
	}
	var mods map[string]string
	if err := c.Call(context.Background(), &mods, "rpc_modules"); err != nil {
		t.Fatal(err)
	}
	if len(mods) != 2 || mods["get"] != "1.0" || mods["rpc"] != "1.0" {
		t.Fatalf("rpc_modules = %v, want get and rpc only", mods)
	}
}

func TestConcurrentCalls(t *testing.T) {
	_, c := dial(t, nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			var sum int
			if err := c.Call(context.Background(), &sum, "test_add", i, i); err != nil || sum != 2*i {
				t.Errorf("test_add(%d, %d) = %d, %v", i, i, sum, err)
			}
		})
	}
	wg.Wait()
}

func TestServerStopped(t *testing.T) {
	srv, c := dial(t, nil)
	srv.Stop()
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); err == nil {
		t.Fatal("call after Stop succeeded")
	}
	if _, err := inproc.Dial(srv); !errors.Is(err, rpc.ErrServerStopped) {
		t.Fatalf("Dial after Stop: err = %v, want ErrServerStopped", err)
	}
}
