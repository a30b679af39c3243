package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// syncBuffer is a bytes.Buffer safe for the console's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestClient returns an in-process client of a server with the reference test service.
func newTestClient(t *testing.T) *rpc.Client {
	t.Helper()
	srv := rpctest.NewServer(t, nil)
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// runScript runs the console non-interactively on the lines of script and returns its output.
func runScript(t *testing.T, client *rpc.Client, script string) string {
	t.Helper()
	var out syncBuffer
	c := New(Config{Client: client, Name: "test", Input: NewLines(strings.NewReader(script)), Output: &out, Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestConsoleScript(t *testing.T) {
	client := newTestClient(t)
	for _, tt := range []struct {
		line string
		want string // the whole output of the line
	}{
		{"test_add 1 2", "3\n"},
		{"test_add [1,2]", "3\n"},
		{`test_echoPerson {"name":"ann","age":3}`, "{\n  \"name\": \"ann\",\n  \"age\": 3,\n  \"email\": null\n}\n"},
		{`{"jsonrpc":"2.0","id":1,"method":"test_add","params":[3,4]}`, "7\n"},
		{`{"jsonrpc":"2.0","method":"test_incr"}`, "(notification sent)\n"},
		{"test_noArgsRets", "null\n"},
		{"test_failCoded", "error -32042: coded failure\ndata: {\n  \"why\": \"testing\"\n}\n"},
		{"test_add 1 x", "error -32602: invalid argument 1 (\"b\"): want int, got string\n"},
		{"nope_nothing", "error -32601: the method nope_nothing does not exist/is not available\n"},
		{"test_add [1,", "error: invalid JSON at \"[1,\": unexpected EOF\n"},
		{".nope", "unknown command .nope (try .help)\n"},
		{".unsub 9", "no subscription \"9\" (.subs lists them)\n"},
		{".subs", "no subscriptions\n"},
		{"", ""},
	} {
		t.Run(tt.line, func(t *testing.T) {
			if got := runScript(t, client, tt.line+"\n"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConsoleExitAndHelp(t *testing.T) {
	client := newTestClient(t)
	out := runScript(t, client, ".help\n.exit\ntest_add 1 2\n")
	if !strings.Contains(out, ".methods [PREFIX]") || strings.Contains(out, "\n3\n") {
		t.Errorf("output %q: want the help and nothing after .exit", out)
	}
	out = runScript(t, client, ".methods test_a\n")
	if out != "  test_add_\n" && !strings.Contains(out, "test_") {
		t.Errorf(".methods: %q", out)
	}
}

// TestComplete: tab completion of commands and of method names (namespaces from rpc_modules
// when the server has no rpc.discover, full names from rpc.discover when it has).
func TestComplete(t *testing.T) {
	client := newTestClient(t)
	c := New(Config{Client: client, Input: NewLines(strings.NewReader("")), Output: &syncBuffer{}})
	for _, tt := range []struct {
		line string
		want []string
	}{
		{".e", []string{".exit"}},
		{".", commands},
		{"test_add 1", nil},
		{"zzz", nil},
	} {
		if got := c.Complete(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("Complete(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
	got := c.Complete("te")
	if len(got) == 0 || !strings.HasPrefix(got[0], "test_") {
		t.Errorf("Complete(te) = %q", got)
	}
	if ms, fromModules := c.methods.snapshot(); !fromModules && !slices.ContainsFunc(ms, func(m method) bool { return m.name == "test_add" }) {
		t.Errorf("rpc.discover listed no test_add: %v", ms)
	}
}

// TestConsoleContextEnds: the console returns when its context ends while it waits for input.
func TestConsoleContextEnds(t *testing.T) {
	client := newTestClient(t)
	r, w := io.Pipe()
	defer w.Close()
	c := New(Config{Client: client, Input: NewLines(r), Output: &syncBuffer{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the context ended")
	}
}

// TestConsoleSubscription: a subscription's notifications print as they arrive; .subs lists
// it and .unsub ends it.
func TestConsoleSubscription(t *testing.T) {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	feed := &tickFeed{}
	if err := srv.Register("tick", feed); err != nil {
		t.Fatal(err)
	}
	client, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })

	in, w := io.Pipe()
	defer w.Close()
	var out syncBuffer
	c := New(Config{Client: client, Input: NewLines(in), Output: &out, Timeout: 5 * time.Second})
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the output:\n%s", what, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	io.WriteString(w, "tick_subscribe ticks 3\n")
	waitFor("subscription 1 (id ")
	waitFor(`[1] {"n":2}`)
	io.WriteString(w, ".subs\n")
	waitFor("  1  tick_subscribe \"ticks\" 3")
	io.WriteString(w, ".unsub 1\n")
	waitFor("subscription 1 ended")
	io.WriteString(w, "tick_subscribe nope\n")
	waitFor("error -32601")
	w.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return at the end of the input")
	}
}

// tickFeed is a subscription service: tick_subscribe("ticks", n) sends {"n":0} … {"n":n-1}.
type tickFeed struct{}

func (tickFeed) Ticks(ctx context.Context, n int) (*subscriptions.Subscription, error) {
	nt, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	sub := nt.CreateSubscription()
	go func() {
		for i := range n {
			if sub.Notify(map[string]int{"n": i}) != nil {
				return
			}
		}
	}()
	return sub, nil
}

// TestCompleteFromModules: against a server without rpc.discover (go-ethereum, for one) the
// console completes and lists the namespaces of rpc_modules.
func TestCompleteFromModules(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		if req.Method == "rpc_modules" {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"eth":"1.0","net":"1.0","web3":"1.0"}}`, req.ID)
			return
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"the method %s does not exist/is not available"}}`, req.ID, req.Method)
	}))
	defer hs.Close()
	client, err := httprpc.Dial(context.Background(), hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := New(Config{Client: client, Input: NewLines(strings.NewReader("")), Output: &syncBuffer{}})
	if got := c.Complete("e"); !slices.Equal(got, []string{"eth_"}) {
		t.Errorf("Complete(e) = %q", got)
	}
	out := runScript(t, client, ".methods\n")
	if !strings.Contains(out, "  net_\n") || !strings.Contains(out, "namespaces from rpc_modules") {
		t.Errorf(".methods: %q", out)
	}
}

// TestInterrupt: a signal on Config.Interrupt cancels the call in progress, and the console
// goes on with the next line.
func TestInterrupt(t *testing.T) {
	client := newTestClient(t)
	intr := make(chan os.Signal, 1)
	intr <- os.Interrupt // before the call: dropped
	var out syncBuffer
	in, w := io.Pipe()
	c := New(Config{Client: client, Input: NewLines(in), Output: &out, Timeout: 10 * time.Second, Interrupt: intr})
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	io.WriteString(w, "test_add 1 2\n")
	for deadline := time.Now().Add(5 * time.Second); out.String() != "3\n" && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	io.WriteString(w, "test_sleep 5000\n")
	// Interrupt until the call is interrupted (one that comes before it starts is dropped);
	// a signal left over is dropped by the next call.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "interrupted") && time.Now().Before(deadline); {
		select {
		case intr <- os.Interrupt:
		default:
		}
		time.Sleep(20 * time.Millisecond)
	}
	io.WriteString(w, "test_add 3 4\n")
	w.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the console did not end")
	}
	if got, want := out.String(), "3\nerror: interrupted\n7\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestConsoleHandle: the server's calls to the console print as they arrive and are answered
// -32601, or with the result .handle set.
func TestConsoleHandle(t *testing.T) {
	client := newTestClient(t)
	out := runScript(t, client, `test_callback ui_confirm ["ok?"]
.handle ui_confirm {"yes":true}
.handle ui_bad {
test_callback ui_confirm ["ok?"]
.handle
.handle ui_confirm
test_callback ui_confirm []
`)
	want := `server called ui_confirm ["ok?"] → -32601 (no handler: .handle ui_confirm JSON answers it)
error -32601: the method ui_confirm does not exist/is not available
(the server's calls of ui_confirm are answered {"yes":true})
the result must be JSON: .handle ui_bad true
server called ui_confirm ["ok?"] → {"yes":true}
{
  "yes": true
}
  ui_confirm → {"yes":true}
(the server's calls of ui_confirm are answered -32601)
server called ui_confirm → -32601 (no handler: .handle ui_confirm JSON answers it)
error -32601: the method ui_confirm does not exist/is not available
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}
