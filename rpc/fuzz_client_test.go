package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fzConn is the client's end of a connection whose server is the fuzz input: ReadMessage
// returns what the test feeds, WriteMessage records what the client writes.
type fzConn struct {
	in     chan []byte
	closed chan struct{}
	once   sync.Once

	mu      sync.Mutex
	answers [][]byte // messages without a method: the client's answers
	more    chan struct{}
}

func newFzConn() *fzConn {
	return &fzConn{in: make(chan []byte), closed: make(chan struct{}), more: make(chan struct{}, 1)}
}

func (c *fzConn) ReadMessage() ([]byte, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-c.closed:
		return nil, io.EOF
	}
}

func (c *fzConn) WriteMessage(msg []byte) error {
	if fzObject(msg)["method"] != nil {
		return nil // one of the client's own calls
	}
	c.mu.Lock()
	c.answers = append(c.answers, bytes.Clone(msg))
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	return nil
}

func (c *fzConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// waitAnswers waits until the client has written n answers, and returns them.
func (c *fzConn) waitAnswers(t *testing.T, n int) [][]byte {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got := c.answers
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.more:
		case <-deadline.C:
			t.Fatalf("the client wrote %d answers, want %d: %q", len(got), n, got)
		}
	}
}

// fzUI is what the fuzzed client serves.
type fzUI struct{}

func (fzUI) Echo(v any) any              { return v }
func (fzUI) Wait(ctx context.Context)    { <-ctx.Done() }
func (fzUI) Panic()                      { panic("fuzz") }
func (fzUI) Add(a, b int) (int, error)   { return a + b, nil }
func (fzUI) Fail(code int) error         { return &Error{Code: code, Message: "fail"} }
func (fzUI) Named(p struct{ A int }) int { return p.A }

// fzServed reports how many answers the client owes for msg: one per request object (a string
// method and an id), at the top level or in an array.
func fzServed(msg []byte) int {
	var elems []json.RawMessage
	if json.Unmarshal(msg, &elems) != nil {
		elems = []json.RawMessage{msg}
	}
	n := 0
	for _, e := range elems {
		m := fzObject(e)
		method, id := m["method"], m["id"]
		if method != nil && method[0] == '"' && id != nil {
			n++
		}
	}
	return n
}

// FuzzClientIncoming feeds a client messages from its server (separated by NUL in the input):
// requests for the methods it serves, answers to its own calls (ids 1 and 2), batches,
// notifications and garbage, in any mix. The client must answer each request exactly once with
// a valid answer, never crash, and its calls must return once it closes.
func FuzzClientIncoming(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":"s1","method":"ui_echo","params":[1]}` + "\x00" + `{"jsonrpc":"2.0","id":1,"result":5}`,
		`{"jsonrpc":"2.0","id":1,"result":1}` + "\x00" + `{"jsonrpc":"2.0","id":1,"result":2}` + "\x00" + `{"jsonrpc":"2.0","id":7,"method":"ui_add","params":{"a":1,"b":2}}`,
		`[{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"x"}},{"jsonrpc":"2.0","id":"s2","method":"ui_panic"},{"jsonrpc":"2.0","method":"ui_echo"}]`,
		`{"jsonrpc":"2.0","id":null,"method":"ui_nope"}` + "\x00" + `{"jsonrpc":"2.0","id":{},"method":"ui_echo"}` + "\x00" + `{"id":3,"method":"ui_echo"}`,
		`{"jsonrpc":"2.0","id":"s3","method":"ui_wait"}` + "\x00" + `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"s3"}}`,
		`{"jsonrpc":"2.0","id":"s4","method":"ui_fail","params":[-32601]}` + "\x00" + `{"jsonrpc":"2.0","method":"x_subscription","params":{"subscription":"0x1","result":1}}`,
		`{"jsonrpc":"2.0","id":5,"method":"ui_named","params":{"A":3}}` + "\x00" + `[]` + "\x00" + `[1,{"id":1}]` + "\x00" + `{"jsonrpc":"2.0","id":1}`,
		`{"jsonrpc":"2.0","id":6,"method":1}` + "\x00" + `{"method":"ui_echo","id":8,"result":1}` + "\x00" + `nul` + "\x00" + `{"id":2,"result":[`,
		`0"0000000":"","0":"","method":""}`, `{"method":""}`, // garbage and an invalid notification: no answer
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !utf8.Valid(in) {
			return // the oracle reads with encoding/json, which replaces invalid UTF-8
		}
		msgs := bytes.Split(in, []byte{0})
		if len(msgs) > 16 {
			return
		}
		want := 0
		for _, m := range msgs {
			if json.Valid(m) {
				want += fzServed(m)
			}
		}
		if want > 32 {
			// More requests than the client's call slots (64) could hold at once: a request
			// that finds none waits clientSlotWait (1 s), which only slows the fuzzing down.
			return
		}
		conn := newFzConn()
		c := NewClient(conn)
		c.SetCancelMethod(DefaultCancelMethod)
		if err := c.Register("ui", fzUI{}); err != nil {
			t.Fatal(err)
		}
		c.served.cfg.log = slog.New(slog.DiscardHandler) // before the first message is read
		var calls sync.WaitGroup
		for range 2 {
			calls.Go(func() {
				var res any
				c.Call(context.Background(), &res, "x_y") // answered by the input, or failed by Close
			})
		}
		for _, m := range msgs {
			select {
			case conn.in <- m:
			case <-time.After(5 * time.Second):
				buf := make([]byte, 1<<20)
				t.Fatalf("the client does not read %q\n%s", m, buf[:runtime.Stack(buf, true)])
			}
		}
		// ui_wait waits for its context: without a cancel notification it is answered once
		// the client closes, which the count leaves out.
		var waits int
		for _, m := range msgs {
			if bytes.Contains(m, []byte(`"ui_wait"`)) {
				waits++
			}
		}
		if waits == 0 {
			for _, a := range conn.waitAnswers(t, want) {
				m := fzObject(a)
				_, res := m["result"]
				_, err := m["error"]
				if m == nil || string(m["jsonrpc"]) != `"2.0"` || res == err || m["id"] == nil {
					t.Fatalf("bad answer %q", a)
				}
			}
		}
		done := make(chan struct{})
		go func() {
			c.Close()
			calls.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return")
		}
		conn.mu.Lock()
		n := len(conn.answers)
		conn.mu.Unlock()
		if n > want {
			t.Fatalf("%d answers for %d requests", n, want)
		}
	})
}
