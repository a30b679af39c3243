package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// session returns a session on a test server built with opts, and the inbox it writes to.
func session(t *testing.T, opts *rpc.Options) (*rpc.Server, *rpc.Session, *rpctest.Inbox) {
	t.Helper()
	srv := rpctest.NewServer(t, opts)
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	return srv, ss, inbox
}

func recv(t *testing.T, inbox *rpctest.Inbox) string {
	t.Helper()
	msg, err := inbox.Recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return string(msg)
}

// exchange sends each request and checks the answer, for tables of single messages.
func exchange(t *testing.T, opts *rpc.Options, cases []struct{ name, req, want string }) {
	t.Helper()
	_, ss, inbox := session(t, opts)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := ss.Handle(context.Background(), []byte(c.req)); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, inbox); got != c.want {
				t.Fatalf("\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	call := func(id int) string {
		return `{"jsonrpc":"2.0","id":` + string(rune('0'+id)) + `,"method":"test_repeat","params":["ab",20]}`
	}
	answer := func(id int) string {
		return `{"jsonrpc":"2.0","id":` + string(rune('0'+id)) + `,"result":"` + strings.Repeat("ab", 20) + `"}`
	}
	tooLarge := func(id int) string {
		return `{"jsonrpc":"2.0","id":` + string(rune('0'+id)) + `,"error":{"code":-32003,"message":"response too large"}}`
	}
	exchange(t, &rpc.Options{BatchItemLimit: 3, BatchResponseMaxBytes: 100, MaxMethodNameLength: 11},
		[]struct{ name, req, want string }{
			{"batch at the item limit",
				`[{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,1]},{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","id":3,"method":"test_add","params":[1,3]}]`,
				`[{"jsonrpc":"2.0","id":1,"result":2},{"jsonrpc":"2.0","id":2,"result":3},{"jsonrpc":"2.0","id":3,"result":4}]`},
			{"batch over the item limit carries the first call's id",
				`[{"jsonrpc":"2.0","method":"test_incr"},{"jsonrpc":"2.0","id":"x","method":"test_add","params":[1,1]},{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","id":3,"method":"test_add","params":[1,3]}]`,
				`[{"jsonrpc":"2.0","id":"x","error":{"code":-32600,"message":"batch too large"}}]`},
			{"batch over the response size: later calls are not run",
				"[" + call(1) + "," + call(2) + "," + call(3) + "]",
				"[" + answer(1) + "," + answer(2) + "," + tooLarge(3) + "]"},
			{"method name too long",
				`{"jsonrpc":"2.0","id":1,"method":"test_subtract","params":[1,1]}`,
				`{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"method name too long: 13 > 11"}}`},
		})
}

func TestInvalidUTF8(t *testing.T) {
	exchange(t, nil, []struct{ name, req, want string }{
		{"string id", "{\"jsonrpc\":\"2.0\",\"id\":\"a\xffb\",\"method\":\"test_add\",\"params\":[1,2]}",
			`{"jsonrpc":"2.0","id":"a` + "\ufffd" + `b","result":3}`},
		{"method name", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\xfe\"}",
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method x\ufffd does not exist/is not available"}}`},
		{"string argument and result", "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_repeat\",\"params\":[\"\xc3\",2]}",
			`{"jsonrpc":"2.0","id":2,"result":"\ufffd\ufffd"}`},
		{"escapes and separators", `{"jsonrpc":"2.0","id":3,"method":"test_repeat","params":["\u2028<&>\u0001",1]}`,
			`{"jsonrpc":"2.0","id":3,"result":"\u2028<&>\u0001"}`},
	})
}

// TestAnswersAreLines: every answer is one line, even when a result's MarshalJSON indents.
func TestAnswersAreLines(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	if err := srv.Register("pretty", prettyService{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, writerFunc(func(m []byte) error {
		out.Write(m)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"pretty_get"}`))
	want := `{"jsonrpc":"2.0","id":1,"result":{"a":[1,2]}}` + "\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

type prettyService struct{}
type pretty struct{}

func (pretty) MarshalJSON() ([]byte, error) {
	return []byte("{\n  \"a\": [\n    1,\n    2\n  ]\n}"), nil
}
func (prettyService) Get() pretty { return pretty{} }

type writerFunc func([]byte) error

func (f writerFunc) WriteMessage(m []byte) error { return f(m) }

func TestCallTimeout(t *testing.T) {
	_, ss, inbox := session(t, &rpc.Options{CallTimeout: 100 * time.Millisecond})
	cases := []struct{ name, req, want string }{
		{"method that honours its context",
			`{"jsonrpc":"2.0","id":1,"method":"test_sleep","params":[5000]}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"request timed out"}}`},
		{"method that ignores its context",
			`{"jsonrpc":"2.0","id":2,"method":"test_block","params":[400]}`,
			`{"jsonrpc":"2.0","id":2,"error":{"code":-32002,"message":"request timed out"}}`},
		{"batch: finished items keep their answers",
			`[{"jsonrpc":"2.0","id":3,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","id":4,"method":"test_block","params":[400]},{"jsonrpc":"2.0","method":"test_incr"},{"jsonrpc":"2.0","id":5,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","id":6}]`,
			`[{"jsonrpc":"2.0","id":3,"result":3},{"jsonrpc":"2.0","id":4,"error":{"code":-32002,"message":"request timed out"}},{"jsonrpc":"2.0","id":5,"error":{"code":-32002,"message":"request timed out"}},{"jsonrpc":"2.0","id":6,"error":{"code":-32600,"message":"invalid request: \"method\" is missing"}}]`},
		{"fast call",
			`{"jsonrpc":"2.0","id":7,"method":"test_add","params":[1,2]}`,
			`{"jsonrpc":"2.0","id":7,"result":3}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			if err := ss.Handle(context.Background(), []byte(c.req)); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 350*time.Millisecond {
				t.Errorf("Handle returned after %v; the timeout is 100ms", d)
			}
			if got := recv(t, inbox); got != c.want {
				t.Fatalf("\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
	// The late results of the blocked calls are dropped: nothing else arrives.
	if msg, err := inbox.Recv(600 * time.Millisecond); err == nil {
		t.Fatalf("unexpected message after the timeouts: %s", msg)
	}
}

// TestSessionCloseCancels: closing a connection cancels the context of its calls.
func TestSessionCloseCancels(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ss, _ := session(t, nil)
	ss.Dispatch([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_sleep","params":[60000]}`))
	time.Sleep(50 * time.Millisecond) // let the call start
	start := time.Now()
	ss.Close()
	ss.Wait()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the call ran %v after its connection closed", d)
	}
}

// TestHalfClose: after the client ends its side, calls already received are still answered.
func TestHalfClose(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			srv.ServeStream(c, rpc.ConnOptions{})
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_sleep","params":[100]}{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`))
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []string
	dec := json.NewDecoder(conn)
	for {
		var m json.RawMessage
		if err := dec.Decode(&m); err != nil {
			break
		}
		got = append(got, string(m))
	}
	want := []string{`{"jsonrpc":"2.0","id":2,"result":3}`, `{"jsonrpc":"2.0","id":1,"result":null}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q (calls run concurrently: the fast one answers first)", got, want)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	srv := rpctest.NewServer(t, &rpc.Options{MaxConcurrentCalls: 2})
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	ss.Dispatch([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_block","params":[300]}`))
	ss.Dispatch([]byte(`{"jsonrpc":"2.0","id":2,"method":"test_block","params":[300]}`))
	start := time.Now()
	ss.Dispatch([]byte(`{"jsonrpc":"2.0","id":3,"method":"test_add","params":[1,2]}`))
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("a third call started after %v with two slots taken", d)
	}
	got := map[string]bool{}
	for range 3 {
		got[recv(t, inbox)] = true
	}
	if !got[`{"jsonrpc":"2.0","id":3,"result":3}`] {
		t.Fatalf("answers %v lack the third call", got)
	}
}

func TestStop(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, &rpc.Options{StopTimeout: 2 * time.Second})
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	ss.Dispatch([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_sleep","params":[60000]}`))
	time.Sleep(20 * time.Millisecond)
	var wg sync.WaitGroup
	start := time.Now()
	for range 3 { // concurrent and repeated Stop calls all return once stopped
		wg.Go(srv.Stop)
	}
	wg.Wait()
	srv.Stop()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Stop took %v with a call that honours its context", d)
	}
	if got, want := recv(t, inbox), `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"context canceled"}}`; got != want {
		t.Fatalf("in-flight call answered %s, want %s", got, want)
	}
	if err := ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`)); err == nil {
		t.Fatal("Handle on a stopped server's session succeeded")
	}
	if _, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox); err != rpc.ErrServerStopped {
		t.Fatalf("NewSession after Stop: %v, want ErrServerStopped", err)
	}
}

func TestShutdownFinishesCalls(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	ss.Dispatch([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_block","params":[200]}`))
	time.Sleep(20 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	ss.Dispatch([]byte(`{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`))
	got := map[string]bool{recv(t, inbox): true, recv(t, inbox): true}
	for _, want := range []string{
		`{"jsonrpc":"2.0","id":1,"result":"done"}`,
		`{"jsonrpc":"2.0","id":2,"error":{"code":-32006,"message":"server is shutting down"}}`,
	} {
		if !got[want] {
			t.Errorf("missing answer %s in %v", want, got)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestPanicIsLogged(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))
	exchange(t, &rpc.Options{Logger: logger}, []struct{ name, req, want string }{
		{"panic", `{"jsonrpc":"2.0","id":1,"method":"test_panic"}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"method handler crashed"}}`},
		{"still serving", `{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`,
			`{"jsonrpc":"2.0","id":2,"result":3}`},
	})
	mu.Lock()
	defer mu.Unlock()
	var rec struct{ Msg, Method, Panic, Stack string }
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if rec.Method != "test_panic" || rec.Panic != "boom" || !strings.Contains(rec.Stack, "(*Service).Panic") {
		t.Fatalf("log record %+v lacks the method, the panic value or the stack", rec)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestNotificationsRun: notifications are executed although never answered.
func TestNotificationsRun(t *testing.T) {
	_, ss, inbox := session(t, nil)
	for range 5 {
		ss.Dispatch([]byte(`{"jsonrpc":"2.0","method":"test_incr"}`))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"test_count"}`))
		got := recv(t, inbox)
		if got == `{"jsonrpc":"2.0","id":1,"result":5}` {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("count is %s, want 5", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStreamTooLarge: a message over the limit is answered -32600, with its id, and the stream
// goes on.
func TestStreamTooLarge(t *testing.T) {
	srv := rpctest.NewServer(t, &rpc.Options{MaxMessageBytes: 100})
	client, server := net.Pipe()
	go srv.ServeStream(server, rpc.ConnOptions{})
	w := rpctest.NewStreamWire(client)
	defer w.Close()
	w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_repeat","params":["` + strings.Repeat("x", 200) + `",1]}`))
	w.Send([]byte(`{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`))
	got := map[string]bool{}
	for range 2 { // answered concurrently: in either order
		msg, err := w.Recv(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got[string(msg)] = true
	}
	for _, want := range []string{
		`{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"message too large: the limit is 100 bytes"}}`,
		`{"jsonrpc":"2.0","id":2,"result":3}`,
	} {
		if !got[want] {
			t.Errorf("missing %s in %v", want, got)
		}
	}
}

// TestResponsesValidUTF8 checks a sample of hostile inputs end to end.
func TestResponsesValidUTF8(t *testing.T) {
	_, ss, inbox := session(t, nil)
	inputs := []string{
		"\xff", "[\xff]", "{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\",\"method\":\"x\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echoAny\",\"params\":[\"\xf0\x28\x8c\x28\"]}",
	}
	for _, in := range inputs {
		ss.Handle(context.Background(), []byte(in))
		got := recv(t, inbox)
		if !utf8.ValidString(got) || !json.Valid([]byte(got)) {
			t.Errorf("input %q: answer %q is not valid UTF-8 JSON", in, got)
		}
	}
}

// TestRequestBudget: a request that would overrun the server-wide budget for request bytes in
// flight is refused with -32005 (with its id, but for a batch), and the connection stays
// usable.
func TestRequestBudget(t *testing.T) {
	srv := rpctest.NewServer(t, &rpc.Options{MaxRequestBytesInFlight: 200 << 10})
	dial := func() *rpctest.StreamWire {
		client, server := net.Pipe()
		go srv.ServeStream(server, rpc.ConnOptions{})
		w := rpctest.NewStreamWire(client)
		t.Cleanup(func() { w.Close() })
		return w
	}
	big := func(id int, size int) []byte {
		return []byte(`[{"jsonrpc":"2.0","id":` + string(rune('0'+id)) + `,"method":"test_block","params":[300]},` +
			`{"jsonrpc":"2.0","method":"test_repeat","params":["` + strings.Repeat("x", size) + `",0]}]`)
	}
	a, b := dial(), dial()
	if err := a.Send(big(1, 150<<10)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a's 150 KiB are held while test_block runs
	b.Send(big(2, 100<<10))
	expect := func(w *rpctest.StreamWire, want string) {
		t.Helper()
		got, err := w.Recv(5 * time.Second)
		if err != nil || string(got) != want {
			t.Fatalf("\n got: %s (%v)\nwant: %s", got, err, want)
		}
	}
	expect(b, `{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"server busy: too many request bytes in flight, retry later"}}`)
	b.Send([]byte(`{"jsonrpc":"2.0","id":"one","method":"test_repeat","params":["` + strings.Repeat("x", 100<<10) + `",0]}`))
	expect(b, `{"jsonrpc":"2.0","id":"one","error":{"code":-32005,"message":"server busy: too many request bytes in flight, retry later"}}`)
	expect(a, `[{"jsonrpc":"2.0","id":1,"result":"done"}]`)
	// a's bytes are given back just after its answer: b's request soon fits.
	for try := 0; ; try++ {
		b.Send(big(3, 100<<10))
		got, err := b.Recv(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) == `[{"jsonrpc":"2.0","id":3,"result":"done"}]` {
			break
		}
		if try == 50 || !strings.Contains(string(got), "-32005") {
			t.Fatalf("after a's answer, b got %s", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNoSubscriptions: request/response transports refuse subscriptions as go-ethereum does.
func TestNoSubscriptions(t *testing.T) {
	srv := rpctest.NewServer(t, nil)
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{NoSubscriptions: true}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"test_subscribe","params":["ticks"]}`))
	if got, want := recv(t, inbox), `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"notifications not supported"}}`; got != want {
		t.Fatalf("\n got: %s\nwant: %s", got, want)
	}
}

// TestDeadlinePassedBeforeStart: a message whose deadline passes before it is even parsed (a
// loaded machine) is still answered -32002, not left unanswered.
func TestDeadlinePassedBeforeStart(t *testing.T) {
	exchange(t, &rpc.Options{CallTimeout: time.Nanosecond}, []struct{ name, req, want string }{
		{"call", `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"request timed out"}}`},
		{"batch", `[{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","method":"test_incr"},{"jsonrpc":"2.0","id":3}]`,
			`[{"jsonrpc":"2.0","id":2,"error":{"code":-32002,"message":"request timed out"}},{"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"invalid request: \"method\" is missing"}}]`},
		{"invalid", `{"jsonrpc":"2.0","id":4}`,
			`{"jsonrpc":"2.0","id":4,"error":{"code":-32600,"message":"invalid request: \"method\" is missing"}}`},
	})
}

// TestInlineHandoff: messages run on the reading goroutine while the connection is idle, and
// reading moves to another goroutine when one runs long. A mix of quick and slow calls, sent
// without waiting, must each be answered once (the race detector would see two readers).
func TestInlineHandoff(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	client, server := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(server, rpc.ConnOptions{}) }()
	w := rpctest.NewStreamWire(client)
	const n = 200
	go func() {
		for i := range n {
			req := `{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"test_add","params":[` + strconv.Itoa(i) + `,0]}`
			if i%7 == 0 {
				req = `{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"test_block","params":[` + strconv.Itoa(i%3) + `]}`
			}
			if err := w.Send([]byte(req)); err != nil {
				return
			}
			if i%13 == 0 {
				time.Sleep(time.Millisecond) // let the connection go idle now and then
			}
		}
	}()
	seen := make(map[int]bool)
	for range n {
		msg, err := w.Recv(10 * time.Second)
		if err != nil {
			t.Fatalf("after %d answers: %v", len(seen), err)
		}
		var a struct {
			ID     int
			Result json.RawMessage
		}
		if err := json.Unmarshal(msg, &a); err != nil || seen[a.ID] {
			t.Fatalf("answer %s: %v (seen before: %v)", msg, err, seen[a.ID])
		}
		want := strconv.Itoa(a.ID)
		if a.ID%7 == 0 {
			want = `"done"`
		}
		if string(a.Result) != want {
			t.Fatalf("answer %s: result %s, want %s", msg, a.Result, want)
		}
		seen[a.ID] = true
	}
	client.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// TestSlowCallDoesNotHoldUpReading: a call that runs long on the reading goroutine of an idle
// connection hands reading over, so a quick call sent after it is answered while it still runs.
func TestSlowCallDoesNotHoldUpReading(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	client, server := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(server, rpc.ConnOptions{}) }()
	w := rpctest.NewStreamWire(client)
	for _, req := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"test_sleep","params":[60000]}`,
		`{"jsonrpc":"2.0","id":2,"method":"test_add","params":[2,3]}`,
	} {
		if err := w.Send([]byte(req)); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := w.Recv(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"jsonrpc":"2.0","id":2,"result":5}`; string(bytes.TrimSpace(msg)) != want {
		t.Fatalf("first answer %s, want %s", msg, want)
	}
	stopped := make(chan struct{})
	go func() { srv.Stop(); close(stopped) }() // cancels the sleeping call
	if msg, err := w.Recv(10 * time.Second); err != nil || !bytes.Contains(msg, []byte(`"id":1,"error"`)) {
		t.Errorf("after stop: %s, %v; want the sleeping call's error", msg, err)
	}
	<-stopped
	client.Close()
	<-served
}
