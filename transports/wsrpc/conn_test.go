package wsrpc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// TestMessages: each message is answered on the same connection, whatever came before it, and
// answers are text frames whatever the request frame was.
func TestMessages(t *testing.T) {
	w := dialRaw(t, serve(t, rpctest.NewServer(t, nil), nil), nil, nil)
	const add = `{"jsonrpc":"2.0","id":9,"method":"test_add","params":[4,5]}`
	tests := []struct {
		name  string
		frame int
		msg   string
		want  string
	}{
		{"malformed", websocket.TextMessage, `{"jsonrpc":"2.0","id":1,`,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: unexpected end of JSON input"}}`},
		{"valid after malformed", websocket.TextMessage, add, `{"jsonrpc":"2.0","id":9,"result":9}`},
		{"empty", websocket.TextMessage, ``,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: unexpected end of JSON input"}}`},
		{"binary frame", websocket.BinaryMessage, add, `{"jsonrpc":"2.0","id":9,"result":9}`},
		{"trailing newline", websocket.TextMessage, add + "\n", `{"jsonrpc":"2.0","id":9,"result":9}`},
		{"batch", websocket.TextMessage, `[` + add + `,{"jsonrpc":"2.0","method":"test_incr"}]`, `[{"jsonrpc":"2.0","id":9,"result":9}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := w.ws.WriteMessage(tt.frame, []byte(tt.msg)); err != nil {
				t.Fatal(err)
			}
			w.ws.SetReadDeadline(time.Now().Add(recvTimeout))
			typ, got, err := w.ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if typ != websocket.TextMessage {
				t.Errorf("answer frame type %d, want text (%d)", typ, websocket.TextMessage)
			}
			if want := tt.want + "\n"; string(got) != want {
				t.Errorf("\n got: %q\nwant: %q", got, want)
			}
		})
	}
}

// TestOutOfOrder: calls on one connection run concurrently and each is answered when it
// finishes, so a fast call sent right after a slow one is answered first.
func TestOutOfOrder(t *testing.T) {
	w := dialRaw(t, serve(t, rpctest.NewServer(t, nil), nil), nil, nil)
	w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_block","params":[300]}`))
	w.Send([]byte(`{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`))
	w.expect(t, `{"jsonrpc":"2.0","id":2,"result":3}`)
	w.expect(t, `{"jsonrpc":"2.0","id":1,"result":"done"}`)
}

// TestReadLimit: a message over the read limit, on the wire or once decompressed, closes the
// connection with 1009; one within it is answered.
func TestReadLimit(t *testing.T) {
	const limit = 1024
	url := serve(t, rpctest.NewServer(t, nil), &wsrpc.Options{ReadLimit: limit})
	echo := func(size int) []byte {
		msg := `{"jsonrpc":"2.0","id":1,"method":"test_echoAny","params":[""]}`
		return []byte(strings.Replace(msg, `""`, `"`+strings.Repeat("a", size-len(msg))+`"`, 1))
	}
	tests := []struct {
		name     string
		compress bool
		size     int
		want     int // close code; 0: answered
	}{
		{"at the limit", false, limit, 0},
		{"over the limit", false, limit + 1, websocket.CloseMessageTooBig},
		{"compressed, at the limit", true, limit, 0},
		// Compressed, this message is far smaller than the limit on the wire.
		{"compressed, over the limit once inflated", true, 8 * limit, websocket.CloseMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := dialRaw(t, url, &websocket.Dialer{EnableCompression: tt.compress}, nil)
			w.ws.EnableWriteCompression(tt.compress)
			if err := w.Send(echo(tt.size)); err != nil {
				t.Fatal(err)
			}
			if tt.want == 0 {
				if got, err := w.Recv(recvTimeout); err != nil || len(got) < tt.size-30 {
					t.Fatalf("answer of %d bytes, %v; want the echo", len(got), err)
				}
				return
			}
			if code := w.closeCode(t); code != tt.want {
				t.Fatalf("close code %d, want %d", code, tt.want)
			}
		})
	}
}

// TestBudget: a message the server-wide request budget cannot cover is answered -32005 (with
// the request's id; a batch's with id null) and the connection stays usable; once the bytes
// held by another connection are given back, the same request succeeds.
func TestBudget(t *testing.T) {
	url := serve(t, rpctest.NewServer(t, &rpc.Options{MaxRequestBytesInFlight: 1000}), nil)
	// A batch of a call to test_block and a padding notification, answered [{..."done"}].
	held := func(id string, pad int) []byte {
		return []byte(`[{"jsonrpc":"2.0","id":` + id + `,"method":"test_block","params":[300]},` +
			`{"jsonrpc":"2.0","method":"test_repeat","params":["` + strings.Repeat("x", pad) + `",0]}]`)
	}
	a := dialRaw(t, url, nil, nil)
	b := dialRaw(t, url, nil, nil)
	a.Send(held("1", 600)) // about 700 bytes, held while test_block runs
	time.Sleep(100 * time.Millisecond)
	b.Send(held("2", 400)) // about 500 bytes: over the budget while a's are held
	b.expect(t, busyAnswer("null"))
	b.Send([]byte(`{"jsonrpc":"2.0","id":"b","method":"test_repeat","params":["` + strings.Repeat("x", 400) + `",0]}`))
	b.expect(t, busyAnswer(`"b"`))
	a.expect(t, `[{"jsonrpc":"2.0","id":1,"result":"done"}]`)
	untilNotBusy(t, b, held("3", 400), `[{"jsonrpc":"2.0","id":3,"result":"done"}]`)
}

// busyAnswer is the answer to a request with id (JSON) that the request budget refused.
func busyAnswer(id string) string { return `{"jsonrpc":"2.0","id":` + id + busyTail }

const busyTail = `,"error":{"code":-32005,"message":"server busy: too many request bytes in flight, retry later"}}`

// untilNotBusy sends msg until it is answered want instead of a busy answer. The budget held by
// a message is given back just after its answer is written, so a request sent as soon as that
// answer arrives may still find it taken; a budget that was not given back fails the test.
func untilNotBusy(t *testing.T, w *wire, msg []byte, want string) {
	t.Helper()
	deadline := time.Now().Add(recvTimeout)
	for {
		w.Send(msg)
		got, err := w.Recv(recvTimeout)
		if err == nil && string(got) == want {
			return
		}
		if err != nil || !strings.HasSuffix(string(got), busyTail) || time.Now().After(deadline) {
			t.Fatalf("\n got: %s (%v)\nwant: %s", got, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBudgetLargeMessages: a message read in many chunks is charged and given back in full, so
// a budget that fits one such message serves any number of them in turn.
func TestBudgetLargeMessages(t *testing.T) {
	url := serve(t, rpctest.NewServer(t, &rpc.Options{MaxRequestBytesInFlight: 300 << 10}), nil)
	w := dialRaw(t, url, nil, nil)
	msg := `{"jsonrpc":"2.0","id":1,"method":"test_repeat","params":["` + strings.Repeat("y", 200<<10) + `",0]}`
	for range 5 {
		untilNotBusy(t, w, []byte(msg), `{"jsonrpc":"2.0","id":1,"result":""}`)
	}
}

// TestStop: stopping the server sends 1001 (going away) on every connection, closes them, ends
// the handler goroutines, and refuses later connections the same way.
func TestStop(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	url := serve(t, srv, nil)
	idle := dialRaw(t, url, nil, nil)
	busy := dialRaw(t, url, nil, nil)
	busy.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_sleep","params":[10000]}`))
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	srv.Stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stop took %v", d)
	}
	// The sleeping call was cancelled and answered before the connection was closed.
	busy.expect(t, `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"context canceled"}}`)
	for name, w := range map[string]*wire{"idle": idle, "busy": busy, "after stop": dialRaw(t, url, nil, nil)} {
		if code := w.closeCode(t); code != websocket.CloseGoingAway {
			t.Errorf("%s connection: close code %d, want %d", name, code, websocket.CloseGoingAway)
		}
	}
}

// TestStopStalledPeer: a peer that stopped reading does not hold up Stop beyond the server's
// StopTimeout: the blocked write is abandoned and the connection closed without a close frame.
func TestStopStalledPeer(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, &rpc.Options{StopTimeout: 100 * time.Millisecond})
	w := dialRaw(t, serve(t, srv, nil), nil, nil)
	for range 16 { // 16 MiB of answers: more than the socket buffers hold
		w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_repeat","params":["x",1048576]}`))
	}
	time.Sleep(300 * time.Millisecond) // the server's writes block
	start := time.Now()
	srv.Stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Stop took %v with a stalled peer", d)
	}
}
