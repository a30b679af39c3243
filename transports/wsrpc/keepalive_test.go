package wsrpc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// The keepalive tests run in synctest bubbles over net.Pipe connections (pipe_test.go): the
// bubble's clock moves only when every goroutine in it is blocked, so the timings they check are
// exact however loaded the machine, and waiting for them takes no time.

// Short keepalive timings for these tests.
const (
	testPingInterval = 50 * time.Millisecond
	testPongTimeout  = 100 * time.Millisecond
)

// reader reads a raw connection in the background (so that its ping handler runs) and hands
// over messages and the final error.
type reader struct {
	msgs chan []byte
	err  chan error
}

func startReader(w *wire) *reader {
	r := &reader{msgs: make(chan []byte, 16), err: make(chan error, 1)}
	go func() {
		for {
			_, msg, err := w.ws.ReadMessage()
			if err != nil {
				r.err <- err
				return
			}
			r.msgs <- msg
		}
	}()
	return r
}

func (r *reader) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-r.msgs:
		if string(got) != want+"\n" {
			t.Fatalf("\n got: %s\nwant: %s", got, want)
		}
	case err := <-r.err:
		t.Fatalf("connection failed: %v", err)
	case <-time.After(recvTimeout):
		t.Fatal("no answer")
	}
}

// TestKeepaliveServer: the server closes a connection whose peer does not answer its pings,
// about PingInterval+PongTimeout after the last traffic, and keeps one that does.
func TestKeepaliveServer(t *testing.T) {
	tests := []struct {
		name   string
		answer bool // the client answers pings
	}{
		{"ignores pings", false},
		{"answers pings", true},
	}
	for _, tt := range tests {
		runInBubble(t, tt.name, func(t *testing.T) {
			l := servePipe(t, wsrpc.NewHandler(rpctest.NewServer(t, nil), &wsrpc.Options{PingInterval: testPingInterval, PongTimeout: testPongTimeout}))
			w := dialRaw(t, pipeURL, l.dialer(), nil)
			pings := make(chan struct{}, 100)
			answer := w.ws.PingHandler()
			w.ws.SetPingHandler(func(data string) error {
				pings <- struct{}{}
				if tt.answer {
					return answer(data)
				}
				return nil
			})
			start := time.Now()
			r := startReader(w)
			if !tt.answer {
				select {
				case err := <-r.err:
					if d := time.Since(start); d < testPingInterval+testPongTimeout || d > 2*testPingInterval+testPongTimeout {
						t.Errorf("disconnected after %v, want about %v", d, testPingInterval+testPongTimeout)
					}
					if len(pings) == 0 {
						t.Errorf("disconnected (%v) without being pinged", err)
					}
				case <-time.After(recvTimeout):
					t.Fatal("a client that ignores pings is still connected")
				}
				return
			}
			time.Sleep(6 * (testPingInterval + testPongTimeout))
			if len(pings) < 3 {
				t.Errorf("%d pings in %v, want several", len(pings), 6*(testPingInterval+testPongTimeout))
			}
			w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`))
			r.expect(t, `{"jsonrpc":"2.0","id":1,"result":3}`)
		})
	}
}

// TestKeepaliveBusyServer: a server that does not read the connection because all its call
// slots are busy cannot see the pongs; that is not held against the client.
//
// It runs on a real socket and real time, not in a bubble: the server does not read while its
// slot is busy, so the client's pongs must wait in a socket buffer, which net.Pipe does not have
// (the client's pong write would time out instead).
func TestKeepaliveBusyServer(t *testing.T) {
	srv := rpctest.NewServer(t, &rpc.Options{MaxConcurrentCalls: 1})
	w := dialRaw(t, serve(t, srv, &wsrpc.Options{PingInterval: testPingInterval, PongTimeout: testPongTimeout}), nil, nil)
	r := startReader(w)
	w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_block","params":[500]}`))
	w.Send([]byte(`{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`)) // waits for the slot
	r.expect(t, `{"jsonrpc":"2.0","id":1,"result":"done"}`)
	r.expect(t, `{"jsonrpc":"2.0","id":2,"result":3}`)
}

// TestKeepaliveClient: a client pings an idle server and fails its calls when the pings go
// unanswered; it keeps working with a server that answers them.
func TestKeepaliveClient(t *testing.T) {
	tests := []struct {
		name   string
		answer bool          // the server answers pings
		ping   time.Duration // DialOptions.PingInterval
		ok     bool          // the connection survives
	}{
		{"server ignores pings", false, testPingInterval, false},
		{"server answers pings", true, testPingInterval, true},
		{"pings off", false, -1, true},
	}
	for _, tt := range tests {
		runInBubble(t, tt.name, func(t *testing.T) {
			l := servePipe(t, rawServer(tt.answer))
			ws, _, err := l.dialer().Dial(pipeURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := wsrpc.NewClientOver(ws, &wsrpc.DialOptions{PingInterval: tt.ping, PongTimeout: testPongTimeout})
			defer c.Close()
			time.Sleep(4 * (testPingInterval + testPongTimeout))
			ctx, cancel := context.WithTimeout(context.Background(), recvTimeout)
			defer cancel()
			var ok bool
			err = c.Call(ctx, &ok, "any_method")
			switch {
			case tt.ok && (err != nil || !ok):
				t.Fatalf("call: %v, %v", ok, err)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), "ping")):
				t.Fatalf("call on a connection whose pings went unanswered: err = %v", err)
			}
		})
	}
}

// rawServer is a minimal WebSocket JSON-RPC server that answers every call with true and,
// unless answerPings, ignores pings.
func rawServer(answerPings bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		if !answerPings {
			ws.SetPingHandler(func(string) error { return nil })
		}
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var req struct{ ID json.RawMessage }
			json.Unmarshal(msg, &req)
			ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":`+string(req.ID)+`,"result":true}`))
		}
	})
}
