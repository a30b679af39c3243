package httprpc_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// rawClient returns an HTTP client that shows responses as sent (no transparent gzip) and
// drops its connections when the test ends.
func rawClient(t testing.TB) *http.Client {
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// chunked hides a body's length so that it is sent chunked.
type chunked struct{ io.Reader }

// request is one HTTP request of a table test.
type request struct {
	method  string
	header  map[string]string // Content-Type defaults to application/json for POST
	body    string
	chunked bool
	query   string
}

func (rq request) do(t testing.TB, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := rq.send(context.Background(), c, url)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// send makes the request and reads the whole answer.
func (rq request) send(ctx context.Context, c *http.Client, url string) (*http.Response, []byte, error) {
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
		if rq.chunked {
			body = chunked{body}
		}
	}
	method := rq.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, url+rq.query, body)
	if err != nil {
		return nil, nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		switch {
		case k == "Host":
			req.Host = v
		case v == "":
			req.Header.Del(k)
		default:
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

const (
	addCall   = `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`
	addAnswer = `{"jsonrpc":"2.0","id":1,"result":3}` + "\n"
)

func TestStatusAndHeaders(t *testing.T) {
	rpctest.CheckLeaks(t)
	big := `{"jsonrpc":"2.0","id":1,"method":"test_echo","params":["` + strings.Repeat("x", 200) + `",1]}`
	tests := []struct {
		name       string
		opts       *httprpc.Options
		req        request
		status     int
		body       string            // exact body, when not empty
		bodyPrefix string            // start of the body, when not empty
		header     map[string]string // expected headers ("" = absent)
	}{
		{name: "call", req: request{body: addCall}, status: 200, body: addAnswer,
			header: map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(addAnswer))}},
		{name: "charset", req: request{body: addCall, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
			status: 200, body: addAnswer},
		{name: "json-rpc", req: request{body: addCall, header: map[string]string{"Content-Type": "application/json-rpc"}},
			status: 200, body: addAnswer},
		{name: "jsonrequest", req: request{body: addCall, header: map[string]string{"Content-Type": "Application/JSONRequest"}},
			status: 200, body: addAnswer},
		{name: "chunked call", req: request{body: addCall, chunked: true}, status: 200, body: addAnswer,
			header: map[string]string{"Content-Length": strconv.Itoa(len(addAnswer))}},
		{name: "empty body", req: request{}, status: 200,
			bodyPrefix: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,`},
		{name: "large chunked", req: request{body: `{"jsonrpc":"2.0","id":1,"method":"test_echoAny","params":["` +
			strings.Repeat("y", 1<<20) + `"]}`, chunked: true}, status: 200, bodyPrefix: `{"jsonrpc":"2.0","id":1,"result":"yyy`},
		{name: "rpc error is 200", req: request{body: `{"jsonrpc":"2.0","id":1,"method":"test_nope"}`}, status: 200,
			bodyPrefix: `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,`},
		{name: "parse error is 200", req: request{body: `{"jsonrpc"`}, status: 200,
			bodyPrefix: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,`},
		{name: "notification", req: request{body: `{"jsonrpc":"2.0","method":"test_incr"}`}, status: 200, body: "",
			header: map[string]string{"Content-Length": "0", "Content-Type": "application/json", "Content-Encoding": ""}},
		{name: "batch of notifications", req: request{body: `[{"jsonrpc":"2.0","method":"test_incr"},{"jsonrpc":"2.0","method":"test_incr"}]`},
			status: 200, body: "", header: map[string]string{"Content-Length": "0"}},
		{name: "batch", req: request{body: `[` + addCall + `,{"jsonrpc":"2.0","method":"test_incr"}]`}, status: 200,
			body: `[{"jsonrpc":"2.0","id":1,"result":3}]` + "\n"},
		{name: "namespaces", opts: &httprpc.Options{Namespaces: []string{"get"}}, req: request{body: addCall}, status: 200,
			bodyPrefix: `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,`},
		{name: "subscriptions unsupported", req: request{body: `{"jsonrpc":"2.0","id":1,"method":"test_subscribe","params":["x"]}`},
			status: 200, bodyPrefix: `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"notifications not supported"`},
		{name: "text/plain", req: request{body: addCall, header: map[string]string{"Content-Type": "text/plain"}}, status: 415,
			bodyPrefix: "invalid content type"},
		{name: "no content type", req: request{body: addCall, header: map[string]string{"Content-Type": ""}}, status: 415},
		{name: "bad content type", req: request{body: addCall, header: map[string]string{"Content-Type": "application/"}}, status: 415},
		{name: "PUT", req: request{method: "PUT", body: addCall}, status: 405, header: map[string]string{"Allow": "POST, GET, OPTIONS"}},
		{name: "DELETE", req: request{method: "DELETE"}, status: 405, header: map[string]string{"Allow": "POST, GET, OPTIONS"}},
		{name: "PATCH", req: request{method: "PATCH", body: addCall}, status: 405, header: map[string]string{"Allow": "POST, GET, OPTIONS"}},
		{name: "HEAD", req: request{method: "HEAD"}, status: 405, header: map[string]string{"Allow": "POST, GET, OPTIONS"}},
		{name: "GET health", req: request{method: "GET"}, status: 200, body: "", header: map[string]string{"Content-Length": "0"}},
		{name: "GET with a body", req: request{method: "GET", body: addCall, header: map[string]string{"Content-Type": "application/json"}},
			status: 200, body: addAnswer},
		{name: "GET with a query", req: request{method: "GET", query: "?x=1"}, status: 415},
		{name: "OPTIONS", req: request{method: "OPTIONS"}, status: 204,
			header: map[string]string{"Allow": "POST, GET, OPTIONS", "Access-Control-Allow-Origin": ""}},
		{name: "413 declared", opts: &httprpc.Options{MaxBodyBytes: 100}, req: request{body: big}, status: 413,
			bodyPrefix: "content length too large"},
		{name: "413 chunked", opts: &httprpc.Options{MaxBodyBytes: 100}, req: request{body: big, chunked: true}, status: 413,
			bodyPrefix: "request body too large"},
		{name: "under the limit", opts: &httprpc.Options{MaxBodyBytes: len(big)}, req: request{body: big, chunked: true}, status: 200,
			bodyPrefix: `{"jsonrpc":"2.0","id":1,"result":{"String":"xx`},
		{name: "no limit", opts: &httprpc.Options{MaxBodyBytes: -1}, req: request{body: big}, status: 200},
	}
	c := rawClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := newServer(t, nil, tt.opts)
			resp, body := tt.req.do(t, c, ts.URL)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if tt.body != "" || tt.bodyPrefix == "" && tt.status == 200 && tt.header["Content-Length"] == "0" {
				if string(body) != tt.body {
					t.Errorf("body %q, want %q", body, tt.body)
				}
			}
			if !bytes.HasPrefix(body, []byte(tt.bodyPrefix)) {
				t.Errorf("body %q, want it to start with %q", body, tt.bodyPrefix)
			}
			for k, want := range tt.header {
				got := resp.Header.Get(k)
				if want == "" && resp.Header.Values(k) != nil || want != "" && got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
