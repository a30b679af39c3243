package rpc_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

var (
	_ rpctest.Wire = (*sessionWire)(nil)
	_ rpctest.Wire = (*stallWire)(nil)
)

// sessionWire drives a Session directly: each message is handled synchronously.
type sessionWire struct {
	ss    *rpc.Session
	inbox *rpctest.Inbox
}

func (w *sessionWire) Send(msg []byte) error                { return w.ss.Handle(context.Background(), msg) }
func (w *sessionWire) Recv(d time.Duration) ([]byte, error) { return w.inbox.Recv(d) }
func (w *sessionWire) Close() error                         { return w.ss.Close() }

// dialSession returns a Dialer that feeds a Session of a server with opts through Handle.
// reflect: every method is called through reflect.Value.Call rather than its generated invoker.
func dialSession(opts *rpc.Options, conn rpc.ConnOptions, reflect bool) rpctest.Dialer {
	return func(t testing.TB) rpctest.Wire {
		srv := rpctest.NewServer(t, opts)
		if reflect {
			if n := rpc.StripInvokers(srv); n < 20 {
				t.Fatalf("only %d methods of rpctest have a generated invoker", n)
			}
		}
		inbox := rpctest.NewInbox()
		ss, err := srv.NewSession(context.Background(), conn, inbox)
		if err != nil {
			t.Fatal(err)
		}
		return &sessionWire{ss, inbox}
	}
}

// asyncWire sends each message on a goroutine of its own, for a wire whose Send returns only
// once the message is answered (Handle, the in-process transport), when the server's answer
// waits for the test (a call to the client, a stream value waiting for room).
type asyncWire struct {
	rpctest.Wire
	t  testing.TB
	wg sync.WaitGroup
}

func (w *asyncWire) Send(msg []byte) error {
	msg = append([]byte(nil), msg...)
	w.wg.Go(func() {
		// A message still being sent when the transcript ends finds the session closed.
		if err := w.Wire.Send(msg); err != nil && !errors.Is(err, rpc.ErrClosed) {
			w.t.Errorf("send %s: %v", msg, err)
		}
	})
	return nil
}

func (w *asyncWire) Close() error {
	err := w.Wire.Close()
	w.wg.Wait()
	return err
}

// dialTwoWaySession is dialSession for the transcripts of testdata/twoway: a two-way session
// (as the in-process transport's) whose messages are sent asynchronously.
func dialTwoWaySession(opts *rpc.Options) rpctest.Dialer {
	return func(t testing.TB) rpctest.Wire {
		w := dialSession(opts, rpc.ConnOptions{TwoWay: true}, false)(t)
		return &asyncWire{Wire: w, t: t}
	}
}

// dialStream returns a Dialer that serves one end of a net.Pipe with ServeStream (the stream
// codec with concurrent dispatch, as IPC uses it) on a server with opts, after setup (if not
// nil) has tuned the server.
func dialStream(opts *rpc.Options, setup func(*rpc.Server)) rpctest.Dialer {
	return func(t testing.TB) rpctest.Wire {
		srv := rpctest.NewServer(t, opts)
		if setup != nil {
			setup(srv)
		}
		c, _ := rawPipe(t, srv)
		return rpctest.NewStreamWire(c)
	}
}

// stallWire is a StreamWire that leaves each answer in the pipe (net.Pipe is synchronous: the
// server's write waits for the read) until the watchdog has taken reading away from the
// goroutine writing it, or stallFor has passed: every message run on the reading goroutine
// then has reading taken over.
type stallWire struct {
	*rpctest.StreamWire
	takeover <-chan struct{}
}

// stallFor bounds the wait for a takeover: an answer written by another goroutine than the
// reading one (a notification, a dispatched call) gets none.
const stallFor = 25 * time.Millisecond

func (w *stallWire) Recv(d time.Duration) ([]byte, error) {
	t := time.NewTimer(stallFor)
	defer t.Stop()
	select {
	case <-w.takeover:
	case <-t.C:
	}
	return w.StreamWire.Recv(d)
}

// dialStall is dialStream with a watchdog period of a millisecond and a stallWire; n counts
// the takeovers.
func dialStall(n *atomic.Int64) rpctest.Dialer {
	return func(t testing.TB) rpctest.Wire {
		takeover := make(chan struct{}, 1)
		w := dialStream(nil, func(srv *rpc.Server) {
			rpc.SetInlinePolicy(srv, rpc.InlinePolicy{Slow: time.Hour, Budget: time.Millisecond, OnTakeover: func() {
				n.Add(1)
				select {
				case takeover <- struct{}{}:
				default:
				}
			}})
		})(t)
		return &stallWire{w.(*rpctest.StreamWire), takeover}
	}
}

// TestTranscripts replays every transcript in every mode of running a message: on the caller's
// goroutine (Handle) or a connection's (ServeStream), with and without a call timeout (timed
// calls run on a worker in Handle, inline with InlineTimedCalls and in ServeStream), with
// reading handed over after every message, and with the watchdog taking reading over.
func TestTranscripts(t *testing.T) {
	timed := &rpc.Options{CallTimeout: time.Hour}
	var handovers, takeovers atomic.Int64
	handOver := func(srv *rpc.Server) {
		rpc.SetInlinePolicy(srv, rpc.InlinePolicy{Slow: 0, Skips: 0, Budget: time.Hour,
			OnHandover: func() { handovers.Add(1) }})
	}
	modes := []struct {
		name    string
		dial    rpctest.Dialer
		reached *atomic.Int64 // if not nil, counts the times the mode's path was taken
	}{
		{"session", dialSession(nil, rpc.ConnOptions{}, false), nil},
		{"session/reflect", dialSession(nil, rpc.ConnOptions{}, true), nil},
		{"session/timed", dialSession(timed, rpc.ConnOptions{}, false), nil},
		{"session/timed-inline", dialSession(timed, rpc.ConnOptions{InlineTimedCalls: true}, false), nil},
		{"stream", dialStream(nil, nil), nil},
		{"stream/timed", dialStream(timed, nil), nil},
		{"stream/handover", dialStream(nil, handOver), &handovers},
		{"stream/watchdog", dialStall(&takeovers), &takeovers},
	}
	for _, dir := range []struct{ path, prefix string }{{"testdata", ""}, {"testdata/push", "push/"}} {
		for _, m := range modes {
			t.Run(dir.prefix+m.name, func(t *testing.T) {
				if m.reached != nil {
					before := m.reached.Load()
					t.Cleanup(func() { // after the transcripts, which run in parallel
						n := m.reached.Load() - before
						if n == 0 {
							t.Errorf("no transcript took the path of mode %s", m.name)
						}
						t.Logf("the path of mode %s was taken %d times", m.name, n)
					})
				}
				rpctest.RunTranscripts(t, dir.path, m.dial)
			})
		}
	}
	// testdata/twoway: the server calls its client, the client streams to the server. A
	// session (Handle) must be two-way, and sent to asynchronously.
	twoWay := []struct {
		name string
		dial rpctest.Dialer
	}{
		{"session", dialTwoWaySession(nil)},
		{"session/timed", dialTwoWaySession(timed)},
		{"stream", dialStream(nil, nil)},
		{"stream/timed", dialStream(timed, nil)},
		{"stream/handover", dialStream(nil, handOver)},
		{"stream/watchdog", dialStall(&takeovers)},
	}
	for _, m := range twoWay {
		t.Run("twoway/"+m.name, func(t *testing.T) { rpctest.RunTranscripts(t, "testdata/twoway", m.dial) })
	}
	// testdata/limits: a server whose limits are tiny, with every message on the caller's
	// goroutine (the whole message in hand) and on a stream (the framer stops at the limit).
	for _, m := range []struct {
		name string
		dial rpctest.Dialer
	}{
		{"session", dialSession(rpctest.LimitsOptions(), rpc.ConnOptions{}, false)},
		{"stream", dialStream(rpctest.LimitsOptions(), nil)},
	} {
		t.Run("limits/"+m.name, func(t *testing.T) { rpctest.RunTranscripts(t, "testdata/limits", m.dial) })
	}
}
