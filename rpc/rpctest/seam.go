package rpctest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// Seam is a server for [RunSeam], the conformance suite of the middleware seam, the hooks and
// cancellation that every transport runs: the reference services, and a service "seam" whose
// calls a middleware refuses, closes the connection on, or that wait to be cancelled. Its
// middleware and hooks report what they see on Events.
type Seam struct {
	Server *rpc.Server
	// Events receives one line per call the middleware sees ("call seam_echo ws") and per hook
	// call ("opened ws", "closed ws: reason").
	Events chan string

	svc *seamService
}

// seamService is registered as "seam".
type seamService struct {
	started chan struct{}
}

// seamDecodes counts the decodings of SeamArg.
var seamDecodes atomic.Int64

// SeamArg counts its decodings, so that a refused call can be seen not to be decoded.
type SeamArg struct{}

// UnmarshalJSON counts.
func (*SeamArg) UnmarshalJSON([]byte) error {
	seamDecodes.Add(1)
	return nil
}

// Refused is refused by the middleware.
func (s *seamService) Refused(a SeamArg) {}

// Echo returns its argument.
func (s *seamService) Echo(v int) int { return v }

// Close is answered, then the middleware closes the connection.
func (s *seamService) Close() string { return "closing" }

// Wait returns when its context ends.
func (s *seamService) Wait(ctx context.Context) error {
	s.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// NewSeam returns a Seam; its server is stopped when the test ends.
func NewSeam(t testing.TB) *Seam {
	s := &Seam{Events: make(chan string, 1000), svc: &seamService{started: make(chan struct{}, 10)}}
	mw := func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			s.Events <- fmt.Sprintf("%s %s %s", c.Kind, c.Method.Name, c.Conn.Peer.Transport)
			switch c.Method.Name {
			case "seam_refused":
				return rpc.Outcome{Err: &rpc.Error{Code: -32099, Message: "refused"}}
			case "seam_close":
				o := next(ctx, c)
				o.Close = "bye"
				return o
			}
			return next(ctx, c)
		}
	}
	hooks := rpc.Hooks{
		ConnOpened: func(c *rpc.ConnInfo) { s.Events <- "opened " + c.Peer.Transport },
		ConnClosed: func(c *rpc.ConnInfo, reason string) { s.Events <- "closed " + c.Peer.Transport + ": " + reason },
	}
	s.Server = NewServer(t, &rpc.Options{Middleware: []rpc.Middleware{mw}, Hooks: hooks})
	if err := s.Server.Register("seam", s.svc); err != nil {
		t.Fatal(err)
	}
	return s
}

// SeamOptions says what a transport's connections are to RunSeam.
type SeamOptions struct {
	// Transport is the name the server gives the transport (rpc.TransportWS, …).
	Transport string
	// PerRequest: each message is a connection of its own (HTTP), opened and closed around it.
	PerRequest bool
	// Cancel: the transport carries cancel notifications (a connection: WebSocket, IPC).
	Cancel bool
}

// RunSeam checks over wires from dial to s.Server that the middleware sees every call with
// its kind, method and transport, refuses calls before their params are decoded, closes the
// connection when it asks to, that the hooks see connections open and close, and, if
// o.Cancel, that the cancel notification cancels a call.
func RunSeam(t *testing.T, s *Seam, o SeamOptions, dial Dialer) {
	tr := o.Transport
	recv := func(t *testing.T, w Wire, want string) {
		t.Helper()
		got, err := w.Recv(5 * time.Second)
		if err != nil || string(got) != want {
			t.Fatalf("\n got: %s (%v)\nwant: %s", got, err, want)
		}
	}
	events := func(t *testing.T, want ...string) {
		t.Helper()
		for _, w := range want {
			select {
			case e := <-s.Events:
				if e != w {
					t.Fatalf("event %q, want %q", e, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no event, want %q", w)
			}
		}
	}
	drain := func() {
		for {
			select {
			case <-s.Events:
			default:
				return
			}
		}
	}
	opened := func(t *testing.T) {
		t.Helper()
		if o.PerRequest {
			events(t, "opened "+tr)
		}
	}
	closed := func(t *testing.T) {
		t.Helper()
		if o.PerRequest {
			events(t, "closed "+tr+": ")
		}
	}
	// dialed opens a wire, waiting for the connection's opening, and closes it when the test
	// ends, waiting for its closing, so that each test sees the events of its connection only.
	dialed := func(t *testing.T) Wire {
		t.Helper()
		drain()
		w := dial(t)
		if o.PerRequest {
			t.Cleanup(func() { w.Close() })
			return w
		}
		events(t, "opened "+tr)
		t.Cleanup(func() {
			w.Close()
			select {
			case e := <-s.Events:
				// The client closed it: the server gives no reason of its own.
				if e != "closed "+tr+": " {
					t.Errorf("event %q, want the connection's closing with no reason", e)
				}
			case <-time.After(5 * time.Second):
				t.Error("the connection's closing was not reported")
			}
		})
		return w
	}
	t.Run("calls", func(t *testing.T) {
		w := dialed(t)
		w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"seam_echo","params":[7]}`))
		recv(t, w, `{"jsonrpc":"2.0","id":1,"result":7}`)
		opened(t)
		events(t, "call seam_echo "+tr)
		closed(t)
		w.Send([]byte(`[{"jsonrpc":"2.0","id":2,"method":"seam_echo","params":[1]},{"jsonrpc":"2.0","method":"seam_echo","params":[2]},{"jsonrpc":"2.0","id":3,"method":"nope"}]`))
		recv(t, w, `[{"jsonrpc":"2.0","id":2,"result":1},{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"the method nope does not exist/is not available"}}]`)
		opened(t)
		events(t, "batch "+rpc.MethodBatch+" "+tr, "call seam_echo "+tr, "notification seam_echo "+tr, "call "+rpc.MethodOther+" "+tr)
		closed(t)
	})
	t.Run("refused", func(t *testing.T) {
		w := dialed(t)
		before := seamDecodes.Load()
		w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"seam_refused","params":[{}]}`))
		recv(t, w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32099,"message":"refused"}}`)
		if n := seamDecodes.Load() - before; n != 0 {
			t.Errorf("a refused call's params were decoded %d times", n)
		}
		opened(t)
		events(t, "call seam_refused "+tr)
		closed(t)
	})
	t.Run("close", func(t *testing.T) {
		drain()
		w := dial(t)
		defer w.Close()
		if !o.PerRequest {
			events(t, "opened "+tr)
		}
		w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"seam_close"}`))
		recv(t, w, `{"jsonrpc":"2.0","id":1,"result":"closing"}`)
		opened(t)
		events(t, "call seam_close "+tr, "closed "+tr+": bye")
		if !o.PerRequest {
			if got, err := w.Recv(5 * time.Second); err == nil {
				t.Errorf("received %s after the connection was closed", got)
			}
		}
	})
	if !o.Cancel {
		return
	}
	t.Run("cancel", func(t *testing.T) {
		w := dialed(t)
		for _, id := range []string{"1", `"two"`} {
			w.Send([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"seam_wait"}`))
			select {
			case <-s.svc.started:
			case <-time.After(5 * time.Second):
				t.Fatal("the call did not start")
			}
			cancel, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": rpc.DefaultCancelMethod,
				"params": map[string]json.RawMessage{"id": json.RawMessage(id)}})
			w.Send(cancel)
			recv(t, w, `{"jsonrpc":"2.0","id":`+id+`,"error":{"code":-32800,"message":"request cancelled"}}`)
			events(t, "call seam_wait "+tr)
		}
	})
}
