package integration_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// TestEndpoints: each endpoint the binary prints serves its transport (test_peer names the
// transport a call came in on), and GET /health answers.
func TestEndpoints(t *testing.T) {
	s := startServer(t)
	const req = `{"jsonrpc":"2.0","id":1,"method":"test_peer"}`
	answer := func(transport string) string { return `{"jsonrpc":"2.0","id":1,"result":"` + transport + `"}` }

	h := rpctest.NewHTTPWire(s.HTTP)
	defer h.Close()
	ws := dialWS(t, s.WS)
	c := s.dialIPC(t)
	defer c.Close()
	ipc := &lineWire{c: c, r: bufio.NewReader(c)}
	for _, tt := range []struct {
		transport string
		w         interface {
			Send([]byte) error
			Recv(time.Duration) ([]byte, error)
		}
	}{{"http", h}, {"ws", ws}, {"ipc", ipc}} {
		if err := tt.w.Send([]byte(req)); err != nil {
			t.Fatalf("%s: %v", tt.transport, err)
		}
		got, err := tt.w.Recv(5 * time.Second)
		if err != nil || strings.TrimSpace(string(got)) != answer(tt.transport) {
			t.Errorf("%s: test_peer answered %s (%v), want %s", tt.transport, got, err, answer(tt.transport))
		}
	}

	resp, err := http.Get(s.HTTP + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Errorf("GET /health: %s %s", resp.Status, body)
	}
}

// TestGracefulShutdown: on SIGTERM the server lets calls in flight finish and answers them
// (test_block ignores its context, test_sleep is short enough to end on its own), then exits
// with status 0 and removes its IPC socket (checked by stop).
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t)
	ws := dialWS(t, s.WS)
	c := s.dialIPC(t)
	defer c.Close()
	ipc := &lineWire{c: c, r: bufio.NewReader(c)}
	const (
		blockCall   = `{"jsonrpc":"2.0","id":1,"method":"test_block","params":[700]}`
		blockAnswer = `{"jsonrpc":"2.0","id":1,"result":"done"}`
		sleepCall   = `{"jsonrpc":"2.0","id":2,"method":"test_sleep","params":[700]}`
		sleepAnswer = `{"jsonrpc":"2.0","id":2,"result":null}`
	)
	for _, w := range []interface{ Send([]byte) error }{ws, ipc} {
		for _, m := range []string{blockCall, sleepCall} {
			if err := w.Send([]byte(m)); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // the calls have started
	start := time.Now()
	s.stop(t)
	t.Logf("stopped %v after SIGTERM, with calls of 700 ms in flight for 200 ms", time.Since(start).Round(time.Millisecond))
	for name, w := range map[string]interface {
		Recv(time.Duration) ([]byte, error)
	}{"WebSocket": ws, "IPC": ipc} {
		got := map[string]bool{}
		for range 2 {
			m, err := w.Recv(time.Second)
			if err != nil {
				t.Errorf("%s: %v after %v", name, err, got)
				break
			}
			got[string(m)] = true
		}
		if !got[blockAnswer] || !got[sleepAnswer] {
			t.Errorf("%s: answers %v, want %s and %s", name, got, blockAnswer, sleepAnswer)
		}
	}
}
