package wsrpc_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// TestSeam runs the seam's conformance suite over WebSocket; a middleware's close is a close
// frame with its reason.
func TestSeam(t *testing.T) {
	rpctest.CheckLeaks(t)
	s := rpctest.NewSeam(t)
	url := serve(t, s.Server, nil)
	rpctest.RunSeam(t, s, rpctest.SeamOptions{Transport: rpc.TransportWS, Cancel: true}, func(t testing.TB) rpctest.Wire {
		return dialRaw(t, url, nil, nil)
	})

	w := dialRaw(t, url, nil, nil)
	w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"seam_close"}`))
	w.expect(t, `{"jsonrpc":"2.0","id":1,"result":"closing"}`)
	if code, reason := closeFrame(t, w); code != websocket.ClosePolicyViolation || reason != "bye" {
		t.Errorf("close %d %q, want 1008 \"bye\"", code, reason)
	}
}

// closeFrame reads until the connection closes and returns the close frame's code and text.
func closeFrame(t *testing.T, w *wire) (int, string) {
	t.Helper()
	w.ws.SetReadDeadline(time.Now().Add(recvTimeout))
	for {
		_, _, err := w.ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("closed without a close frame: %v", err)
		}
	}
}

// who answers the caller's principal.
type who struct{}

func (who) Principal(ctx context.Context) any { return rpc.PrincipalFromContext(ctx) }

// TestAuthenticator: the upgrade is refused with 401 before it happens unless the
// authenticator accepts the request's Authorization header or its token query parameter; the
// principal reaches the methods, and the connection is closed when it expires.
func TestAuthenticator(t *testing.T) {
	rpctest.CheckLeaks(t)
	refused := make(chan string, 10)
	srv := rpctest.NewServer(t, &rpc.Options{Hooks: rpc.Hooks{
		Refused: func(c *rpc.ConnInfo, reason string) { refused <- c.Peer.Transport + " " + reason },
	}})
	if err := srv.Register("who", who{}); err != nil {
		t.Fatal(err)
	}
	auth := rpc.AuthenticatorFunc(func(ctx context.Context, c *rpc.Credentials) (any, time.Time, error) {
		switch c.BearerToken() {
		case "good":
			return "alice", time.Time{}, nil
		case "brief":
			return "bob", time.Now().Add(100 * time.Millisecond), nil
		}
		return nil, time.Time{}, errors.New("bad token")
	})
	url := serve(t, srv, &wsrpc.Options{Authenticator: auth})
	for _, tc := range []struct {
		name, auth, query, origin string
		status                    int
		challenge                 string
	}{
		{"no token", "", "", "", 401, "Bearer"},
		{"bad token", "Bearer nope", "", "", 401, `Bearer error="invalid_token"`},
		{"bad origin", "", "?token=good", "http://elsewhere.example", 403, ""},
		{"header", "Bearer good", "", "", 101, ""},
		{"query", "", "?token=good", "", 101, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.auth != "" {
				h.Set("Authorization", tc.auth)
			}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			ws, resp, err := websocket.DefaultDialer.Dial(url+tc.query, h)
			if resp == nil || resp.StatusCode != tc.status || resp.Header.Get("WWW-Authenticate") != tc.challenge {
				t.Fatalf("%v, %v; want status %d, challenge %q", resp, err, tc.status, tc.challenge)
			}
			if tc.status == 401 {
				if got := <-refused; got != "ws auth" {
					t.Errorf("refusal reported as %q", got)
				}
				return
			}
			if ws == nil {
				return
			}
			w := &wire{ws: ws, resp: resp}
			defer w.Close()
			w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"who_principal"}`))
			w.expect(t, `{"jsonrpc":"2.0","id":1,"result":"alice"}`)
		})
	}
	// A principal that expires: the connection is closed then, with the reason.
	w := dialRaw(t, url+"?token=brief", nil, nil)
	w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"who_principal"}`))
	w.expect(t, `{"jsonrpc":"2.0","id":1,"result":"bob"}`)
	if code, reason := closeFrame(t, w); code != websocket.ClosePolicyViolation || reason != rpc.ReasonAuthExpired {
		t.Errorf("close %d %q, want 1008 %q", code, reason, rpc.ReasonAuthExpired)
	}
}
