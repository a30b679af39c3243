package httprpc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// busyBody is the body of a 503 refusal of a request with id (JSON; null when it cannot be read).
func busyBody(id string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"error":{"code":-32005,"message":"server busy: too many request bytes in flight, retry later"}}` + "\n"
}

// TestBudget: while one request holds most of a tiny request-bytes budget, another is refused
// with 503 and Retry-After at once, with its id (a batch: id null), on a connection that stays
// usable; once the first is answered, the second goes through.
func TestBudget(t *testing.T) {
	for _, chunk := range []bool{false, true} {
		name := map[bool]string{false: "declared", true: "chunked"}[chunk]
		t.Run(name, func(t *testing.T) {
			rpctest.CheckLeaks(t)
			// The holder is ~250 bytes of a 300-byte budget; the probe is ~100 bytes.
			holder := `{"jsonrpc":"2.0","id":1,"method":"test_block","params":[1000]}` + strings.Repeat(" ", 190)
			probe := `{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}` + strings.Repeat(" ", 40)
			srv, ts := newServer(t, &rpc.Options{MaxRequestBytesInFlight: 300}, nil)
			c := rawClient(t)

			held := make(chan []byte, 1)
			go func() {
				_, body, err := request{body: holder}.send(context.Background(), c, ts.URL)
				if err != nil {
					t.Error(err)
				}
				held <- body
			}()
			// Wait until the holder's bytes are reserved: then 51 more do not fit.
			for deadline := time.Now().Add(800 * time.Millisecond); srv.RequestBudget().Reserve(51); time.Sleep(time.Millisecond) {
				srv.RequestBudget().Release(51)
				if time.Now().After(deadline) {
					t.Fatal("the holder never reserved its bytes")
				}
			}
			// reused reports whether the last request on ctx reused a connection.
			var reused bool
			ctx := httptrace.WithClientTrace(context.Background(),
				&httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
			resp, body, err := request{body: probe, chunked: chunk}.send(ctx, c, ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("probe: status %d, want 503", resp.StatusCode)
			}
			if got := resp.Header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After %q, want 1", got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if string(body) != busyBody("2") {
				t.Errorf("body %q, want %q", body, busyBody("2"))
			}
			batch := `[` + strings.TrimSpace(probe) + `]`
			if resp, body, err := (request{body: batch, chunked: chunk}).send(ctx, c, ts.URL); err != nil {
				t.Error(err)
			} else if resp.StatusCode != 503 || string(body) != busyBody("null") {
				t.Errorf("a batch: %s %q, want 503 %q", resp.Status, body, busyBody("null"))
			}
			if resp, _, err := (request{method: "GET"}).send(ctx, c, ts.URL); err != nil || resp.StatusCode != 200 || !reused {
				t.Errorf("request after the 503: err %v, connection reused %v; want a reused connection", err, reused)
			}
			if got := string(<-held); got != `{"jsonrpc":"2.0","id":1,"result":"done"}`+"\n" {
				t.Fatalf("holder answer %q", got)
			}
			resp, body = request{body: probe, chunked: chunk}.do(t, c, ts.URL)
			if resp.StatusCode != 200 || string(body) != `{"jsonrpc":"2.0","id":2,"result":3}`+"\n" {
				t.Fatalf("after the holder: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// TestServerStopped: once the server stops, requests get 503 with -32006 and their id; the
// client reports it as an HTTPError.
func TestServerStopped(t *testing.T) {
	srv, ts := newServer(t, nil, nil)
	srv.Stop()
	resp, body := request{body: addCall}.do(t, rawClient(t), ts.URL)
	if resp.StatusCode != 503 || !strings.HasPrefix(string(body), `{"jsonrpc":"2.0","id":1,"error":{"code":-32006,`) {
		t.Fatalf("status %d, body %q; want 503 with -32006", resp.StatusCode, body)
	}
	c := dial(t, ts.URL, nil)
	var he *httprpc.HTTPError
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); !errors.As(err, &he) || he.StatusCode != 503 {
		t.Fatalf("err = %v, want an HTTPError 503", err)
	}
}
