package rpc_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// TestClientStream streams numbers to test_sumStream on every two-way transport, more of them
// than the window and the server's buffer hold, and reads the sum.
func TestClientStream(t *testing.T) {
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			e := tr.dial(t, &rpc.Options{StreamBuffer: 2})
			ctx := context.Background()
			for range 3 {
				s, err := e.client.OpenStream(ctx, "test_sumStream")
				if err != nil {
					t.Fatal(err)
				}
				want := 0.0
				for i := range 500 {
					if err := s.Send(ctx, float64(i)/2); err != nil {
						t.Fatal(err)
					}
					want += float64(i) / 2
				}
				var sum float64
				if err := s.CloseAndRecv(ctx, &sum); err != nil || sum != want {
					t.Fatalf("sum %v, %v; want %v", sum, err, want)
				}
			}
		})
	}
}

// slowSum is a stream method that takes values only when told to.
type slowSum struct {
	take     chan struct{}
	received atomic.Int64
}

func (s *slowSum) Sum(ctx context.Context, in *rpc.Stream[int]) (int, error) {
	sum := 0
	for {
		select {
		case <-s.take:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		v, err := in.Recv()
		if err != nil {
			return sum, nil
		}
		s.received.Add(1)
		sum += v
	}
}

// TestClientStreamFlowControl: a method that does not take its values slows the client down:
// the values sent without an answer never exceed the buffer plus the window.
func TestClientStreamFlowControl(t *testing.T) {
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			e := tr.dial(t, &rpc.Options{StreamBuffer: 4})
			svc := &slowSum{take: make(chan struct{})}
			if err := e.srv.Register("slow", svc); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s, err := e.client.OpenStream(ctx, "slow_sum")
			if err != nil {
				t.Fatal(err)
			}
			const n = 40
			sent := make(chan int, n)
			go func() {
				defer close(sent)
				for i := range n {
					if s.Send(ctx, 1) != nil {
						return
					}
					sent <- i
				}
			}()
			// Without any value taken, Send stops after buffer + window values.
			limit := 4 + rpc.DefaultStreamWindow
			for i := range limit {
				if got := <-sent; got != i {
					t.Fatalf("sent %d, want %d", got, i)
				}
			}
			for i := limit; i < n; i++ {
				if i < limit+3 {
					// Nothing tells that Send waits: a short look at the channel, which can
					// only let the test pass wrongly, never fail wrongly.
					select {
					case got := <-sent:
						t.Fatalf("value %d sent while the window and the buffer were full", got)
					case <-time.After(20 * time.Millisecond):
					}
				}
				svc.take <- struct{}{} // one value taken: room for one more
				if got := <-sent; got != i {
					t.Fatalf("sent %d, want %d", got, i)
				}
			}
			<-sent // closed
			go func() {
				for range limit + 1 {
					svc.take <- struct{}{}
				}
			}()
			var sum int
			if err := s.CloseAndRecv(ctx, &sum); err != nil || sum != n {
				t.Fatalf("sum %d, %v; want %d", sum, err, n)
			}
		})
	}
}

// TestClientStreamErrors: values for an unknown or ended stream, a value that does not decode.
func TestClientStreamErrors(t *testing.T) {
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			e := tr.dial(t, nil)
			ctx := context.Background()
			var ok bool
			err := e.client.Call(ctx, &ok, "test_streamItem", "0x99", 1)
			var re *rpc.Error
			if !errors.As(err, &re) || re.Message != "stream not found" {
				t.Fatalf("unknown stream: %v", err)
			}
			var id string
			if err := e.client.Call(ctx, &id, "test_sumStream"); err != nil {
				t.Fatal(err)
			}
			err = e.client.Call(ctx, &ok, "test_streamItem", id, "two")
			if !errors.As(err, &re) || re.Code != rpc.CodeInvalidParams {
				t.Fatalf("bad value: %v", err)
			}
			if err := e.client.Call(ctx, &ok, "test_streamItem", id, 2); err != nil || !ok {
				t.Fatalf("value: %v, %v", ok, err)
			}
			var sum float64
			if err := e.client.Call(ctx, &sum, "test_streamEnd", id); err != nil || sum != 2 {
				t.Fatalf("end: %v, %v", sum, err)
			}
			err = e.client.Call(ctx, &sum, "test_streamEnd", id)
			if !errors.As(err, &re) || re.Message != "stream not found" {
				t.Fatalf("second end: %v", err)
			}
		})
	}
}

// confirmer is a stream method that calls its client back for every value.
type confirmer struct{ ended chan error }

func (s *confirmer) Count(ctx context.Context, in *rpc.Stream[string]) (int, error) {
	n := 0
	for q, err := range in.All() {
		if err != nil {
			if s.ended != nil {
				s.ended <- err
			}
			return 0, err
		}
		var ok bool
		if err := rpc.CallClient(ctx, &ok, "ui_confirm", q); err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// TestClientStreamCallsBack: a stream method calls its client for each value while the client
// keeps values outstanding.
func TestClientStreamCallsBack(t *testing.T) {
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			e := tr.dial(t, &rpc.Options{StreamBuffer: 1})
			if err := e.srv.Register("conf", &confirmer{}); err != nil {
				t.Fatal(err)
			}
			if err := e.client.Register("ui", &uiService{client: e.client}); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s, err := e.client.OpenStream(ctx, "conf_count")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				q := "no"
				if i%4 == 0 {
					q = "ok?"
				}
				if err := s.Send(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			var n int
			if err := s.CloseAndRecv(ctx, &n); err != nil || n != 25 {
				t.Fatalf("count %d, %v; want 25", n, err)
			}
		})
	}
}

// TestClientStreamClientGone: when the client goes away, the stream's method sees its context
// end, and nothing is left running.
func TestClientStreamClientGone(t *testing.T) {
	for _, tr := range ctTransports {
		t.Run(tr.name, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			e := tr.dial(t, nil)
			svc := &confirmer{ended: make(chan error, 1)}
			if err := e.srv.Register("conf", svc); err != nil {
				t.Fatal(err)
			}
			s, err := e.client.OpenStream(context.Background(), "conf_count")
			if err != nil {
				t.Fatal(err)
			}
			_ = s
			e.client.Close()
			select {
			case err := <-svc.ended:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("the method's Recv: %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream's method did not see the client go")
			}
		})
	}
}
