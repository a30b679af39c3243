package rpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// sessionWire drives a Session directly: each message is handled synchronously.
type sessionWire struct {
	ss    *rpc.Session
	inbox *rpctest.Inbox
}

func (w *sessionWire) Send(msg []byte) error                { return w.ss.Handle(msg) }
func (w *sessionWire) Recv(d time.Duration) ([]byte, error) { return w.inbox.Recv(d) }
func (w *sessionWire) Close() error                         { return w.ss.Close() }

func dialSession(t testing.TB) rpctest.Wire {
	srv := rpctest.NewServer(t, nil)
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	return &sessionWire{ss, inbox}
}

// dialStream serves one end of a net.Pipe with ServeStream: the stream codec with concurrent
// dispatch, as IPC uses it.
func dialStream(t testing.TB) rpctest.Wire {
	c, _ := rawPipe(t, rpctest.NewServer(t, nil))
	return rpctest.NewStreamWire(c)
}

// dialReflect is dialSession with every method called through reflect.Value.Call rather than
// its generated invoker.
func dialReflect(t testing.TB) rpctest.Wire {
	srv := rpctest.NewServer(t, nil)
	if n := rpc.StripInvokers(srv); n < 20 {
		t.Fatalf("only %d methods of rpctest have a generated invoker", n)
	}
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	return &sessionWire{ss, inbox}
}

func TestTranscripts(t *testing.T) {
	t.Run("session", func(t *testing.T) { rpctest.RunTranscripts(t, "testdata", dialSession) })
	t.Run("session/reflect", func(t *testing.T) { rpctest.RunTranscripts(t, "testdata", dialReflect) })
	t.Run("stream", func(t *testing.T) { rpctest.RunTranscripts(t, "testdata", dialStream) })
	t.Run("push/session", func(t *testing.T) { rpctest.RunTranscripts(t, "testdata/push", dialSession) })
	t.Run("push/session/reflect", func(t *testing.T) { rpctest.RunTranscripts(t, "testdata/push", dialReflect) })
	t.Run("push/stream", func(t *testing.T) { rpctest.RunTranscripts(t, "testdata/push", dialStream) })
}
