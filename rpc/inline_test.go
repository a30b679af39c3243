package rpc

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// meetService's Meet returns once two calls are inside it at the same time (or fails after
// five seconds): two pipelined Meet calls on one connection are answered only if the second
// is read while the first runs.
type meetService struct {
	mu  sync.Mutex
	in  int
	all chan struct{}
}

func (m *meetService) Meet(ctx context.Context) (string, error) {
	m.mu.Lock()
	if m.in++; m.in == 2 {
		close(m.all)
	}
	m.mu.Unlock()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-m.all:
		return "met", nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
		return "", errors.New("alone")
	}
}

// Pause sleeps ms milliseconds.
func (m *meetService) Pause(ms int) int {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms
}

// TestInlinePolicy checks the two ways a connection stops running messages on its reading
// goroutine, each with the other one switched off: a message that was slow has the next one
// dispatched, and the watchdog takes reading away from a message that runs on.
func TestInlinePolicy(t *testing.T) {
	const never = time.Hour
	cases := []struct {
		name   string
		policy inlinePolicy
		first  string // sent, and answered, before the two Meet calls
	}{
		{"slow message has the next dispatched", inlinePolicy{slow: time.Millisecond, budget: never}, `"method":"meet_pause","params":[5]`},
		{"watchdog takes reading over", inlinePolicy{slow: never, budget: 5 * time.Millisecond}, `"method":"meet_pause","params":[0]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := NewServer(&Options{Logger: slog.New(slog.DiscardHandler)})
			srv.cfg.inline = c.policy
			if err := srv.Register("meet", &meetService{all: make(chan struct{})}); err != nil {
				t.Fatal(err)
			}
			client, server := net.Pipe()
			served := make(chan error, 1)
			go func() { served <- srv.ServeStream(server, ConnOptions{}) }()
			defer func() {
				client.Close()
				srv.Stop()
				<-served
			}()
			client.SetDeadline(time.Now().Add(10 * time.Second))
			lines := bufio.NewScanner(client)
			recv := func() string {
				if !lines.Scan() {
					t.Fatalf("no answer: %v", lines.Err())
				}
				return lines.Text()
			}
			if _, err := client.Write([]byte(`{"jsonrpc":"2.0","id":0,` + c.first + "}\n")); err != nil {
				t.Fatal(err)
			}
			recv()
			// Written from another goroutine: net.Pipe is synchronous, and the second request is
			// read only if the server reads while the first call runs.
			go client.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"meet_meet"}` + "\n" + `{"jsonrpc":"2.0","id":2,"method":"meet_meet"}` + "\n"))
			for range 2 {
				if a := recv(); !strings.Contains(a, `"result":"met"`) {
					t.Fatalf("answer %s, want met", a)
				}
			}
		})
	}
}
