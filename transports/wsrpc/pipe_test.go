package wsrpc_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/gorilla/websocket"
)

// pipeListener is a net.Listener whose connections are net.Pipe pairs, for tests that run in a
// synctest bubble: a goroutine blocked on a real socket is not durably blocked, so the bubble's
// clock would never move, while one blocked on a pipe is.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// servePipe serves h over a pipeListener until the test ends and returns the listener, whose
// DialContext connects to it.
func servePipe(t testing.TB, h http.Handler) *pipeListener {
	l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	hs := &http.Server{Handler: h}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(l)
	}()
	t.Cleanup(func() {
		hs.Close()
		<-served
	})
	return l
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// DialContext returns the client's end of a new pipe whose other end Accept returns.
func (l *pipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dialer returns a WebSocket dialer that connects to l whatever the URL's host.
func (l *pipeListener) dialer() *websocket.Dialer {
	return &websocket.Dialer{NetDialContext: l.DialContext}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// pipeURL is the URL to dial a pipeListener with.
const pipeURL = "ws://pipe/"

// runInBubble runs fn as the subtest name, in a synctest bubble of its own.
func runInBubble(t *testing.T, name string, fn func(t *testing.T)) {
	t.Run(name, func(t *testing.T) { synctest.Test(t, fn) })
}
