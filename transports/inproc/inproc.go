// Package inproc connects a [rpc.Client] to a [rpc.Server] in the same process, without sockets.
//
// Messages go through the same JSON codec and the same server code as on every other transport,
// so errors and edge cases behave identically; what is skipped is the pipe: a call made with a
// context that cannot be cancelled (context.Background) runs on the caller's goroutine and its
// answer is decoded straight from the server's buffer. Calls with a cancellable context run on a
// worker of the server's so the caller can stop waiting when the context ends; the method's
// context ends then too ([rpc.Session.Handle]), without a cancel notification.
// Subscriptions and server notifications are delivered as they are written; the server's calls to
// the client (rpc.CallClient) reach the methods the client serves (rpc.Client.Register), whose
// answers go back through the transport's Send.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/polyrpc/polyrpc/rpc"
)

// Dial returns a client connected to srv. The connection exposes every namespace; its peer has
// Transport "inproc". Close the client to close the connection.
func Dial(srv *rpc.Server) (*rpc.Client, error) {
	return DialOptions(srv, rpc.ConnOptions{})
}

// DialOptions is Dial with connection options (the namespaces exposed, for example). The peer's
// Transport is always "inproc".
func DialOptions(srv *rpc.Server, opts rpc.ConnOptions) (*rpc.Client, error) {
	return rpc.NewTransportClient(func(receive rpc.Receiver) (rpc.Transport, error) {
		return Connect(srv, opts, receive)
	})
}

// Connect opens an in-process connection to srv and returns its sending side; everything the
// server sends on it (answers, notifications) is passed to receive, each message one line of
// JSON ending in '\n' and valid only during the call, from several goroutines at once (each
// answer from the goroutine of its call); receive(nil) reports that the server closed the
// connection. It is the raw form of Dial, for custom clients and tests.
func Connect(srv *rpc.Server, opts rpc.ConnOptions, receive rpc.Receiver) (rpc.Transport, error) {
	opts.Peer.Transport = rpc.TransportInProc
	// The client takes answers from several goroutines at once, so concurrent callers decode
	// their answers in parallel.
	opts.ConcurrentWrites = true
	// The client's answers to the server's calls (rpc.CallClient) come back through Send.
	opts.TwoWay = true
	ss, err := srv.NewSession(context.Background(), opts, sink(receive))
	if err != nil {
		return nil, err
	}
	return &transport{ss: ss}, nil
}

// sink hands what the server writes to the client.
type sink func([]byte)

var (
	_ rpc.MessageWriter = sink(nil)
	_ io.Closer         = sink(nil)
	_ rpc.Transport     = (*transport)(nil)
)

func (s sink) WriteMessage(msg []byte) error {
	s(msg)
	return nil
}

// Close tells the client that the session has closed (the server stopped, or it closed the
// connection), with the nil message of rpc.NewTransportClient's contract.
func (s sink) Close() error {
	s(nil)
	return nil
}

type transport struct{ ss *rpc.Session }

// errStopped tells the caller why its session refused the call.
var errStopped = fmt.Errorf("inproc: %w (client closed or server stopped)", rpc.ErrClosed)

func (t *transport) Send(ctx context.Context, msg []byte) error {
	err := t.ss.Handle(ctx, msg)
	if errors.Is(err, rpc.ErrClosed) {
		return errStopped
	}
	return err
}

func (t *transport) Close() error { return t.ss.Close() }
