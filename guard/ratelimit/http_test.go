package ratelimit_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/guard/ratelimit"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// TestHTTP: a request refused as a whole (its call, every call of its batch, a notification)
// is answered 429 with Retry-After in whole seconds, rounded up, and the -32005 answer; a
// partly refused batch is 200; the Go client's error tells the wait.
func TestHTTP(t *testing.T) {
	e := newEnv(t, nil, ratelimit.Rule{Methods: []string{"a_echo"}, Rate: 0.4, Burst: 2})
	ts := httptest.NewServer(e.lim.HTTP(httprpc.NewHandler(e.srv, nil)))
	defer ts.Close()
	post := func(body string) (int, string, string) {
		t.Helper()
		resp, err := http.Post(ts.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	tests := []struct {
		name, body string
		status     int
		retryAfter string
		bodyHas    string
	}{
		{"batch within the burst", "[" + req(1, "a_echo") + "," + req(2, "a_echo") + "]", 200, "", `"result":2`},
		{"single call refused", req(3, "a_echo"), 429, "3", `"data":{"retryAfterMs":2500}`},
		{"batch partly refused", "[" + req(4, "a_echo") + "," + req(5, "b_echo") + "]", 200, "", `"result":5`},
		{"batch wholly refused", "[" + req(6, "a_echo") + "," + req(7, "a_echo") + "]", 429, "3", `"id":7,"error":{"code":-32005`},
		{"notification refused", `{"jsonrpc":"2.0","method":"a_echo","params":[1]}`, 429, "3", ""},
		{"other method", req(8, "b_echo"), 200, "", `"result":8`},
	}
	for _, tt := range tests {
		status, ra, body := post(tt.body)
		if status != tt.status || ra != tt.retryAfter || !strings.Contains(body, tt.bodyHas) {
			t.Errorf("%s: %d, Retry-After %q, body %s; want %d, %q, containing %s", tt.name, status, ra, body, tt.status, tt.retryAfter, tt.bodyHas)
		}
	}
	e.mu.Lock()
	if len(e.refused) != 5 {
		t.Errorf("%d refusals reported, want 5 (one per refused call)", len(e.refused))
	}
	e.mu.Unlock()

	c, err := httprpc.Dial(context.Background(), ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Call(context.Background(), nil, "a_echo", 1)
	if d, ok := ratelimit.RetryAfter(err); !ok || d != 2500*time.Millisecond {
		t.Fatalf("client: err %v: RetryAfter %v, %v; want 2.5 s", err, d, ok)
	}
	// In-process (a key of its own: no IP), the third a_echo of a batch is refused.
	local := e.localClient(t)
	var batch []rpc.BatchElem
	for i, m := range []string{"a_echo", "a_echo", "a_echo", "b_echo"} {
		batch = append(batch, rpc.BatchElem{Method: m, Args: []any{i}, Result: new(int)})
	}
	if err := local.BatchCall(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for i, el := range batch {
		d, ok := ratelimit.RetryAfter(el.Error)
		if refused := i == 2; ok != refused || (refused && d != 2500*time.Millisecond) || (!refused && el.Error != nil) {
			t.Errorf("batch call %d: %v (RetryAfter %v, %v)", i, el.Error, d, ok)
		}
	}
}
