package inproc_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// closingWire is wire that also tells when the server closed the connection, and whose Send
// returns at once: each message is handled as a call with a cancellable context is
// (Session.Handle with its context, on a worker), so that a cancel notification can follow
// a call that waits for one.
type closingWire struct {
	wire
	closed atomic.Bool
	sends  sync.WaitGroup
}

func (w *closingWire) Send(msg []byte) error {
	msg = append([]byte(nil), msg...)
	w.sends.Go(func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.t.Send(ctx, msg)
	})
	return nil
}

func (w *closingWire) Close() error {
	err := w.t.Close()
	w.sends.Wait()
	return err
}

func (w *closingWire) Recv(d time.Duration) ([]byte, error) {
	if w.closed.Load() {
		if msg, err := w.inbox.Recv(0); err == nil {
			return msg, nil
		}
		return nil, errors.New("closed by the server")
	}
	return w.inbox.Recv(d)
}

// TestSeam runs the seam's conformance suite in-process.
func TestSeam(t *testing.T) {
	rpctest.CheckLeaks(t)
	s := rpctest.NewSeam(t)
	rpctest.RunSeam(t, s, rpctest.SeamOptions{Transport: rpc.TransportInProc, Cancel: true}, func(t testing.TB) rpctest.Wire {
		w := &closingWire{wire: wire{inbox: rpctest.NewInbox()}}
		tr, err := inproc.Connect(s.Server, rpc.ConnOptions{}, func(msg []byte) {
			if msg == nil {
				w.closed.Store(true)
			}
			w.inbox.Put(msg)
		})
		if err != nil {
			t.Fatal(err)
		}
		w.t = tr
		return w
	})
}

// TestCancelWithContext: a call whose context ends is cancelled on the server at once,
// without a cancel notification.
func TestCancelWithContext(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv, c := dial(t, nil)
	stopped := make(chan error, 1)
	if err := srv.Register("w", waitService{stopped}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, nil, "w_wait"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call: %v", err)
	}
	select {
	case err := <-stopped:
		if err != context.Canceled {
			t.Errorf("the method's context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the method's context did not end")
	}
}

type waitService struct{ stopped chan error }

// Wait returns when its context ends, and tells how.
func (s waitService) Wait(ctx context.Context) {
	<-ctx.Done()
	s.stopped <- ctx.Err()
}
