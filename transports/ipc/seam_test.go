//go:build unix || windows

package ipc

import (
	"context"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// TestSeam runs the seam's conformance suite over IPC.
func TestSeam(t *testing.T) {
	rpctest.CheckLeaks(t)
	s := rpctest.NewSeam(t)
	ep, err := Serve(s.Server, testPath(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	rpctest.RunSeam(t, s, rpctest.SeamOptions{Transport: rpc.TransportIPC, Cancel: true}, func(t testing.TB) rpctest.Wire {
		return rpctest.NewStreamWire(rawConn(t, ep.Path()))
	})
}

// whoAmI returns the caller's principal.
type whoAmI struct{}

func (whoAmI) Principal(ctx context.Context) any { return rpc.PrincipalFromContext(ctx) }

// TestAuthenticator: the endpoint's authenticator sees the client process's identity where
// the system tells it, and its principal reaches the methods; a connection it refuses is
// closed and reported.
func TestAuthenticator(t *testing.T) {
	rpctest.CheckLeaks(t)
	refused := make(chan string, 1)
	srv := rpctest.NewServer(t, &rpc.Options{Hooks: rpc.Hooks{
		Refused: func(c *rpc.ConnInfo, reason string) { refused <- c.Peer.Transport + " " + reason },
	}})
	if err := srv.Register("who", whoAmI{}); err != nil {
		t.Fatal(err)
	}
	creds := make(chan *rpc.ProcessCred, 2)
	deny := errors.New("not you")
	auth := rpc.AuthenticatorFunc(func(ctx context.Context, cred *rpc.Credentials) (any, time.Time, error) {
		creds <- cred.Process
		if cred.Header != nil || cred.Token != "" || cred.Peer.Transport != rpc.TransportIPC {
			return nil, time.Time{}, errors.New("unexpected credentials")
		}
		if len(creds) == 2 { // the second connection of the test
			return nil, time.Time{}, deny
		}
		return "local user", time.Time{}, nil
	})
	ep, err := Serve(srv, testPath(t), &Options{Authenticator: auth})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()

	c := client(t, ep.Path())
	var p string
	if err := c.Call(context.Background(), &p, "who_principal"); err != nil || p != "local user" {
		t.Fatalf("principal %q, %v", p, err)
	}
	cred := <-creds
	switch runtime.GOOS {
	case "linux", "darwin":
		if cred == nil || cred.UID != os.Getuid() || cred.GID != os.Getgid() {
			t.Errorf("process credentials %+v, want uid %d gid %d", cred, os.Getuid(), os.Getgid())
		}
		if cred != nil && cred.PID != os.Getpid() {
			t.Errorf("pid %d, want %d", cred.PID, os.Getpid())
		}
	default:
		if cred != nil {
			t.Errorf("process credentials %+v where none are available", cred)
		}
	}

	creds <- nil // the next connection is refused
	raw := rawConn(t, ep.Path())
	w := rpctest.NewStreamWire(raw)
	w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"who_principal"}`))
	if got, err := w.Recv(5 * time.Second); err == nil {
		t.Errorf("a refused connection answered %s", got)
	}
	if got := <-refused; got != "ipc auth" {
		t.Errorf("refusal reported as %q", got)
	}
}
