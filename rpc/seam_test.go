package rpc_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// seamSessionWire is a Wire over a session of its own: Send is Session.Handle.
type seamSessionWire struct {
	ss     *rpc.Session
	inbox  *rpctest.Inbox
	closed chan struct{}
}

// seamSessionWriter is the session's writer: an inbox that tells when the session closes it.
type seamSessionWriter struct {
	*rpctest.Inbox
	closed chan struct{}
}

func (w seamSessionWriter) Close() error { close(w.closed); return nil }

func (w *seamSessionWire) Send(msg []byte) error { return w.ss.Handle(context.Background(), msg) }

func (w *seamSessionWire) Recv(timeout time.Duration) ([]byte, error) {
	select {
	case <-w.closed:
		if msg, err := w.inbox.Recv(0); err == nil {
			return msg, nil
		}
		return nil, errors.New("closed")
	default:
	}
	return w.inbox.Recv(timeout)
}

func (w *seamSessionWire) Close() error { return w.ss.Close() }

// TestSeam runs the seam's conformance suite on a session (Handle) and on a stream
// connection (ServeStream); every transport's tests run it too.
func TestSeam(t *testing.T) {
	t.Run("session", func(t *testing.T) {
		s := rpctest.NewSeam(t)
		rpctest.RunSeam(t, s, rpctest.SeamOptions{Transport: "session"}, func(t testing.TB) rpctest.Wire {
			w := &seamSessionWire{inbox: rpctest.NewInbox(), closed: make(chan struct{})}
			ss, err := s.Server.NewSession(context.Background(), rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: "session"}},
				seamSessionWriter{w.inbox, w.closed})
			if err != nil {
				t.Fatal(err)
			}
			w.ss = ss
			return w
		})
	})
	t.Run("stream", func(t *testing.T) {
		s := rpctest.NewSeam(t)
		rpctest.RunSeam(t, s, rpctest.SeamOptions{Transport: rpc.TransportIPC, Cancel: true}, func(t testing.TB) rpctest.Wire {
			client, server := net.Pipe()
			served := make(chan error, 1)
			go func() {
				served <- s.Server.ServeStream(server, rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: rpc.TransportIPC}})
			}()
			t.Cleanup(func() {
				client.Close()
				<-served
			})
			return rpctest.NewStreamWire(client)
		})
	})
}
