package httprpc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// TestSeam runs the seam's conformance suite over HTTP, where each request is a connection of
// its own; a middleware's close also closes the request's TCP connection.
func TestSeam(t *testing.T) {
	rpctest.CheckLeaks(t)
	s := rpctest.NewSeam(t)
	ts := serve(t, httprpc.NewHandler(s.Server, nil))
	rpctest.RunSeam(t, s, rpctest.SeamOptions{Transport: rpc.TransportHTTP, PerRequest: true}, func(t testing.TB) rpctest.Wire {
		return rpctest.NewHTTPWire(ts.URL)
	})

	c := rawClient(t)
	var reused []bool
	ctx := httptrace.WithClientTrace(context.Background(),
		&httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }})
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"seam_echo","params":[1]}`,
		`{"jsonrpc":"2.0","id":2,"method":"seam_close"}`,
		`{"jsonrpc":"2.0","id":3,"method":"seam_echo","params":[3]}`,
	} {
		resp, _, err := request{body: body}.send(ctx, c, ts.URL)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v", body, err)
		}
		if strings.Contains(body, "seam_close") != resp.Close {
			t.Errorf("%s: Connection: close is %v", body, resp.Close)
		}
	}
	if len(reused) != 3 || reused[0] || !reused[1] || reused[2] {
		t.Errorf("connections reused: %v, want [false true false]: the close drops the connection", reused)
	}
}

// who answers the caller's principal.
type who struct{}

func (who) Principal(ctx context.Context) any { return rpc.PrincipalFromContext(ctx) }

// tokenAuth accepts the bearer token "good" (principal "alice"), and "stale", which expired.
var tokenAuth = rpc.AuthenticatorFunc(func(ctx context.Context, c *rpc.Credentials) (any, time.Time, error) {
	switch c.BearerToken() {
	case "good":
		return "alice", time.Time{}, nil
	case "stale":
		return "bob", time.Now().Add(-time.Second), nil
	case "":
		return nil, time.Time{}, errors.New("no token")
	}
	return nil, time.Time{}, errors.New("bad token")
})

// watchedBody records whether it was read.
type watchedBody struct {
	io.Reader
	read *atomic.Bool
}

func (b watchedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.Reader.Read(p)
}

// TestAuthenticator: a request the authenticator refuses gets 401 with a challenge before its
// body is read; the principal of one it accepts reaches the method. A token in the query is
// not taken over plain HTTP.
func TestAuthenticator(t *testing.T) {
	rpctest.CheckLeaks(t)
	refused := make(chan string, 10)
	srv := rpctest.NewServer(t, &rpc.Options{Hooks: rpc.Hooks{
		Refused: func(c *rpc.ConnInfo, reason string) { refused <- c.Peer.Transport + " " + reason },
	}})
	if err := srv.Register("who", who{}); err != nil {
		t.Fatal(err)
	}
	ts := serve(t, httprpc.NewHandler(srv, &httprpc.Options{Authenticator: tokenAuth}))
	// Expect: 100-continue: the client sends the body only once the server reads it.
	tr := &http.Transport{ExpectContinueTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	const call = `{"jsonrpc":"2.0","id":1,"method":"who_principal"}`
	for _, tc := range []struct {
		name, auth, query string
		status            int
		challenge, body   string
	}{
		{"no token", "", "", 401, "Bearer", "unauthorized: no token\n"},
		{"bad token", "Bearer nope", "", 401, `Bearer error="invalid_token"`, "unauthorized: bad token\n"},
		{"expired", "Bearer stale", "", 401, `Bearer error="invalid_token"`, "unauthorized: the credentials have expired\n"},
		{"query token", "", "?token=good", 401, "Bearer", "unauthorized: no token\n"},
		{"good", "Bearer good", "", 200, "", `{"jsonrpc":"2.0","id":1,"result":"alice"}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var read atomic.Bool
			req, _ := http.NewRequest("POST", ts.URL+tc.query, watchedBody{strings.NewReader(call), &read})
			req.ContentLength = int64(len(call))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Expect", "100-continue")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || string(body) != tc.body || resp.Header.Get("WWW-Authenticate") != tc.challenge {
				t.Errorf("%d %q %q, want %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body,
					tc.status, tc.challenge, tc.body)
			}
			if tc.status == 401 {
				if read.Load() {
					t.Error("the body of a refused request was sent")
				}
				if got := <-refused; got != "http auth" {
					t.Errorf("refusal reported as %q", got)
				}
			}
		})
	}
}

// TestRefusalsReported: the requests the handler refuses before the server sees them are
// reported to the Refused hook.
func TestRefusalsReported(t *testing.T) {
	rpctest.CheckLeaks(t)
	refused := make(chan string, 10)
	hooks := rpc.Hooks{Refused: func(c *rpc.ConnInfo, reason string) { refused <- reason }}
	_, small := newServer(t, &rpc.Options{Hooks: hooks}, &httprpc.Options{MaxBodyBytes: 150})
	_, busy := newServer(t, &rpc.Options{MaxRequestBytesInFlight: 100, Hooks: hooks}, nil)
	c := rawClient(t)
	for _, tc := range []struct {
		url    string
		req    request
		status int
		reason string
	}{
		{small.URL, request{body: strings.Repeat(" ", 200) + addCall}, 413, rpc.RefusedMessageTooLarge},
		{small.URL, request{body: strings.Repeat(" ", 200) + addCall, chunked: true}, 413, rpc.RefusedMessageTooLarge},
		{busy.URL, request{body: strings.Repeat(" ", 60) + addCall}, 503, rpc.RefusedBusy},
	} {
		if resp, _ := tc.req.do(t, c, tc.url); resp.StatusCode != tc.status {
			t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
		}
		if got := <-refused; got != tc.reason {
			t.Errorf("reason %q, want %q", got, tc.reason)
		}
	}
}

// waitCtx is a method that returns when its context ends, and tells how.
type waitCtx struct {
	started chan struct{}
	ended   chan error
}

func (w waitCtx) Wait(ctx context.Context) {
	close(w.started)
	<-ctx.Done()
	w.ended <- ctx.Err()
}

// TestDisconnectCancels: a client that closes its request cancels the call's context.
func TestDisconnectCancels(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv, ts := newServer(t, nil, nil)
	w := waitCtx{started: make(chan struct{}), ended: make(chan error, 1)}
	if err := srv.Register("w", w); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-w.started
		cancel()
	}()
	if _, _, err := (request{body: `{"jsonrpc":"2.0","id":1,"method":"w_wait"}`}).send(ctx, rawClient(t), ts.URL); !errors.Is(err, context.Canceled) {
		t.Fatalf("request: %v", err)
	}
	select {
	case err := <-w.ended:
		if err != context.Canceled {
			t.Errorf("the method's context ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the method's context did not end")
	}
}
