package ipc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// Tests shared by every OS. testPath (a fresh socket path or pipe name) is defined per OS.

// peerAPI returns the caller's whole PeerInfo, which the reference service does not.
type peerAPI struct{}

func (peerAPI) Info(ctx context.Context) rpc.PeerInfo { return rpc.PeerInfoFromContext(ctx) }

// start serves a reference server on a fresh path; both are closed when the test ends.
func start(t testing.TB, opts *Options) (*rpc.Server, *Endpoint) {
	t.Helper()
	srv := rpctest.NewServer(t, nil)
	ep, err := Serve(srv, testPath(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return srv, ep
}

// rawConn is a raw connection to path, closed (once) when the test ends.
func rawConn(t testing.TB, path string) *conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{Conn: nc}
	t.Cleanup(func() { c.Close() })
	return c
}

func client(t testing.TB, path string) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// transcriptDir finds rpc/testdata from the package directory (go test) or, when the test
// binary runs elsewhere (under Wine, from the module root), from this file's path.
func transcriptDir() string {
	const rel = "../../rpc/testdata"
	if _, err := os.Stat(rel); err == nil {
		return rel
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), rel)
}

func TestTranscripts(t *testing.T) {
	rpctest.CheckLeaks(t)
	rpctest.RunTranscripts(t, transcriptDir(), func(t testing.TB) rpctest.Wire {
		_, ep := start(t, nil)
		return rpctest.NewStreamWire(rawConn(t, ep.Path()))
	})
}

func addReq(id, a, b int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"test_add","params":[%d,%d]}`, id, a, b)
}

func addAns(id, sum int) string { return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%d}`, id, sum) }

// chunks splits s into pieces of n bytes.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

// readAnswers reads n answers, checking that each is one line of valid JSON ending in '\n'.
func readAnswers(t *testing.T, r *bufio.Reader, c *conn, n int) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var got []string
	for range n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d answers %q: %v", len(got), got, err)
		}
		if !json.Valid([]byte(line)) || strings.Count(line, "\n") != 1 {
			t.Fatalf("answer is not one line of JSON: %q", line)
		}
		got = append(got, strings.TrimSuffix(line, "\n"))
	}
	return got
}

func TestFraming(t *testing.T) {
	rpctest.CheckLeaks(t)
	r1, r2, r3 := addReq(1, 1, 2), addReq(2, 20, 3), addReq(3, 300, 4)
	a1, a2, a3 := addAns(1, 3), addAns(2, 23), addAns(3, 304)
	tricky := `{"jsonrpc":"2.0","id":"s","method":"test_echoAny","params":["}]\"{[\\\n"]}`
	trickyAns := `{"jsonrpc":"2.0","id":"s","result":"}]\"{[\\\n"}`
	big := strings.Repeat("x", 100_000)
	bigReq := `{"jsonrpc":"2.0","id":"big","method":"test_echoAny","params":["` + big + `"]}`
	bigAns := `{"jsonrpc":"2.0","id":"big","result":"` + big + `"}`
	tests := []struct {
		name   string
		writes []string      // written one after another
		pause  time.Duration // between writes
		want   []string      // answers, in any order
	}{
		{"one per write", []string{r1 + "\n", r2 + "\n"}, 0, []string{a1, a2}},
		{"several in one write", []string{r1 + "\n" + r2 + "\n" + r3 + "\n"}, 0, []string{a1, a2, a3}},
		{"no separators", []string{r1 + r2 + r3}, 0, []string{a1, a2, a3}},
		{"whitespace variants", []string{" \t\r\n" + r1 + " \r\n\t" + r2 + "\n\n\n" + r3 + "\t "}, 0, []string{a1, a2, a3}},
		{"byte by byte", chunks(r1+r2, 1), time.Millisecond, []string{a1, a2}},
		{"split every 7 bytes", chunks(r1+"\n"+r2+"\n"+r3, 7), 2 * time.Millisecond, []string{a1, a2, a3}},
		{"split after the value", []string{r1, "\n" + r2, "\n"}, 10 * time.Millisecond, []string{a1, a2}},
		{"brackets and escapes in strings", chunks(tricky+tricky, 3), time.Millisecond, []string{trickyAns, trickyAns}},
		{"batch split", chunks("["+r1+",\n"+r2+"]", 5), time.Millisecond, []string{"[" + a1 + "," + a2 + "]"}},
		{"notification gets no answer", []string{`{"jsonrpc":"2.0","method":"test_incr"}` + r1}, 0, []string{a1}},
		{"invalid JSON, then more", []string{`{"jsonrpc":"2.0","id":9,"method":"test_add","params":[1,2,]}` + r2},
			0, []string{`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: invalid character ']' looking for beginning of value at offset 58"}}`, a2}},
		{"large request in pieces", chunks(bigReq, 4096), 0, []string{bigAns}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ep := start(t, nil)
			c := rawConn(t, ep.Path())
			for i, w := range tt.writes {
				if i > 0 && tt.pause > 0 {
					time.Sleep(tt.pause)
				}
				if _, err := c.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			r := bufio.NewReaderSize(c, 64<<10)
			got := readAnswers(t, r, c, len(tt.want))
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Fatalf("answers:\n got %q\nwant %q", got, want)
			}
			// Nothing else was sent: the next answer is the sentinel's.
			if _, err := c.Write([]byte(addReq(42, 40, 2))); err != nil {
				t.Fatal(err)
			}
			if got := readAnswers(t, r, c, 1); got[0] != addAns(42, 42) {
				t.Fatalf("after the answers: got %s, want the sentinel's answer", got[0])
			}
		})
	}
}

func TestClientCalls(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv, ep := start(t, nil)
	if err := srv.Register("peer", peerAPI{}); err != nil {
		t.Fatal(err)
	}
	c := client(t, ep.Path())
	peer, _ := json.Marshal(rpc.PeerInfo{Transport: rpc.TransportIPC, RemoteAddr: ep.Path()})
	tests := []struct {
		method   string
		args     []any
		want     string // the result's JSON, when the call succeeds
		wantCode int    // the error code, when it fails
		wantMsg  string
		wantData string // the error data's JSON
	}{
		{method: "test_add", args: []any{1, 2}, want: `3`},
		{method: "test_echo", args: []any{"x", 7}, want: `{"String":"x","Int":7,"Args":null}`},
		{method: "test_peer", want: `"ipc"`},
		{method: "peer_info", want: string(peer)},
		{method: "rpc_modules", want: `{"get":"1.0","notify":"1.0","peer":"1.0","rpc":"1.0","test":"1.0"}`},
		{method: "test_failCoded", wantCode: -32042, wantMsg: "coded failure", wantData: `{"why":"testing"}`},
		{method: "test_fail", wantCode: rpc.CodeServerError, wantMsg: "plain failure"},
		{method: "test_nope", wantCode: rpc.CodeMethodNotFound},
		{method: "test_add", args: []any{"a", 1}, wantCode: rpc.CodeInvalidParams},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			var got json.RawMessage
			err := c.Call(context.Background(), &got, tt.method, tt.args...)
			if tt.wantCode == 0 {
				if err != nil || string(got) != tt.want {
					t.Fatalf("got %s, %v; want %s", got, err, tt.want)
				}
				return
			}
			var e *rpc.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("err = %v, want code %d", err, tt.wantCode)
			}
			if tt.wantMsg != "" && e.Message != tt.wantMsg {
				t.Errorf("message %q, want %q", e.Message, tt.wantMsg)
			}
			if tt.wantData != "" {
				if d, _ := e.Data.(json.RawMessage); string(d) != tt.wantData {
					t.Errorf("data %v, want %s", e.Data, tt.wantData)
				}
			}
		})
	}
}

func TestBatch(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	c := client(t, ep.Path())
	var sum int
	var data []any
	elems := []rpc.BatchElem{
		{Method: "test_add", Args: []any{2, 3}, Result: &sum},
		{Method: "test_failCoded"},
		{Method: "get_data", Result: &data},
	}
	if err := c.BatchCall(context.Background(), elems); err != nil {
		t.Fatal(err)
	}
	var e *rpc.Error
	switch {
	case elems[0].Error != nil || sum != 5:
		t.Errorf("test_add: %d, %v", sum, elems[0].Error)
	case !errors.As(elems[1].Error, &e) || e.Code != -32042:
		t.Errorf("test_failCoded: %v, want -32042", elems[1].Error)
	case elems[2].Error != nil || len(data) != 2 || data[0] != "hello":
		t.Errorf("get_data: %v, %v", data, elems[2].Error)
	}
}

// TestConcurrentCalls: 32 slow calls share one connection and run at the same time.
func TestConcurrentCalls(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	c := client(t, ep.Path())
	const n, pause = 32, 300 * time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := c.Call(context.Background(), nil, "test_sleep", pause.Milliseconds()); err != nil {
				t.Errorf("test_sleep: %v", err)
			}
			var sum int
			if err := c.Call(context.Background(), &sum, "test_add", i, i); err != nil || sum != 2*i {
				t.Errorf("test_add(%d, %d) = %d, %v", i, i, sum, err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d > n*pause/4 {
		t.Fatalf("%d calls of %v took %v: they did not run concurrently", n, pause, d)
	}
}

func TestNamespaces(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, &Options{Namespaces: []string{"get"}})
	c := client(t, ep.Path())
	var e *rpc.Error
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); !errors.As(err, &e) || e.Code != rpc.CodeMethodNotFound {
		t.Fatalf("test_add outside the exposed namespaces: err = %v, want -32601", err)
	}
	var mods map[string]string
	if err := c.Call(context.Background(), &mods, "rpc_modules"); err != nil || len(mods) != 2 || mods["get"] == "" {
		t.Fatalf("rpc_modules = %v, %v; want get and rpc", mods, err)
	}
}

// TestClose: Close ends live connections (their pending calls fail), stops accepting, and is
// idempotent, also when called concurrently.
func TestClose(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	c := client(t, ep.Path())
	idle := client(t, ep.Path())
	if err := idle.Call(context.Background(), nil, "test_add", 1, 2); err != nil {
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() { pending <- c.Call(context.Background(), nil, "test_sleep", 20_000) }()
	time.Sleep(100 * time.Millisecond) // let the call reach the server

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := ep.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-pending:
		if err == nil {
			t.Fatal("the pending call succeeded after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pending call did not fail after Close")
	}
	if err := idle.Call(context.Background(), nil, "test_add", 1, 2); err == nil {
		t.Fatal("a call on a connection closed by Close succeeded")
	}
	if err := ep.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if c, err := Dial(ctx, ep.Path()); err == nil {
		c.Close()
		t.Fatal("Dial after Close succeeded")
	}
}

// TestServerStop: stopping the rpc.Server drops the IPC connections; the endpoint still closes
// cleanly.
func TestServerStop(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv, ep := start(t, nil)
	c := client(t, ep.Path())
	srv.Stop()
	if err := c.Call(context.Background(), nil, "test_add", 1, 2); err == nil {
		t.Fatal("call after Stop succeeded")
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWriteTimeout: a client that stops reading is disconnected after WriteTimeout.
func TestWriteTimeout(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, &Options{WriteTimeout: 200 * time.Millisecond})
	c := rawConn(t, ep.Path())
	// Answers far larger than the socket's buffer, which this client does not read.
	const size = 8 * 500_000
	req := `{"jsonrpc":"2.0","id":1,"method":"test_repeat","params":["xxxxxxxx",500000]}`
	if _, err := c.Write([]byte(req + req)); err != nil {
		t.Fatal(err)
	}
	// The endpoint accepts the connection, then drops it when a write times out.
	for _, want := range []int{1, 0} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			ep.mu.Lock()
			n := len(ep.conns)
			ep.mu.Unlock()
			if n == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the endpoint holds %d connections, want %d", n, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// What the server wrote before giving up can be read; then the stream ends.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	total := 0
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			if os.IsTimeout(err) {
				t.Fatalf("read: %v; the server should have closed the connection", err)
			}
			break
		}
	}
	if total >= 2*size {
		t.Fatalf("read %d bytes: both answers were delivered", total)
	}
}

// TestAcceptRetry: temporary accept errors are retried with a growing backoff, and Close does
// not wait for a backoff to end.
func TestAcceptRetry(t *testing.T) {
	rpctest.CheckLeaks(t)
	tests := []struct {
		name     string
		errs     int
		minDelay time.Duration // before the listener is asked again after the last error
	}{
		{"three errors", 3, minBackoff + 2*minBackoff + 4*minBackoff},
		{"close during a long backoff", 12, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := newFakeListener(tt.errs)
			e := serve(rpctest.NewServer(t, nil), ln, "fake", nil)
			start := time.Now()
			if tt.minDelay > 0 {
				<-ln.drained
				if d := time.Since(start); d < tt.minDelay {
					t.Errorf("%d errors retried within %v, want a backoff of at least %v", tt.errs, d, tt.minDelay)
				}
			} else {
				time.Sleep(300 * time.Millisecond) // the backoff has reached hundreds of ms
			}
			closeStart := time.Now()
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(closeStart); d > 100*time.Millisecond {
				t.Errorf("Close took %v", d)
			}
		})
	}
}

// fakeListener fails Accept with n temporary errors, then blocks until closed.
type fakeListener struct {
	errs    chan error
	drained chan struct{} // closed when Accept is called after the last error
	closed  chan struct{}
	once    sync.Once
}

type tempErr struct{}

func (tempErr) Error() string   { return "temporary failure" }
func (tempErr) Temporary() bool { return true }
func (tempErr) Timeout() bool   { return false }

func newFakeListener(n int) *fakeListener {
	l := &fakeListener{errs: make(chan error, n), drained: make(chan struct{}), closed: make(chan struct{})}
	for range n {
		l.errs <- tempErr{}
	}
	return l
}

func (l *fakeListener) Accept() (net.Conn, error) {
	select {
	case err := <-l.errs:
		return nil, err
	default:
	}
	select {
	case <-l.drained:
	default:
		close(l.drained)
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *fakeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeListener) Addr() net.Addr { return &net.UnixAddr{Name: "fake", Net: "unix"} }
