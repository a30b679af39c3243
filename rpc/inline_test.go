package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
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

// serveMeet serves a meetService with policy over one end of a pipe until the test ends; it
// returns the server, the client's end and a function that reads the next answer line.
func serveMeet(t *testing.T, policy inlinePolicy) (*Server, net.Conn, func() string) {
	t.Helper()
	srv := NewServer(&Options{Logger: slog.New(slog.DiscardHandler)})
	srv.cfg.inline = policy
	if err := srv.Register("meet", &meetService{all: make(chan struct{})}); err != nil {
		t.Fatal(err)
	}
	client, server := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(server, ConnOptions{}) }()
	t.Cleanup(func() {
		client.Close()
		srv.Stop()
		<-served
	})
	client.SetDeadline(time.Now().Add(20 * time.Second))
	lines := bufio.NewScanner(client)
	recv := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("no answer: %v", lines.Err())
		}
		return lines.Text()
	}
	return srv, client, recv
}

// TestInlinePolicy checks the two ways a connection keeps reading while a message runs, each
// with the other one switched off: a message that was slow has reading handed to a worker
// before the next one runs, and the watchdog takes reading away from a message that runs on.
func TestInlinePolicy(t *testing.T) {
	const never = time.Hour
	cases := []struct {
		name   string
		policy inlinePolicy
		first  string // sent, and answered, before the two Meet calls
	}{
		{"slow message has reading handed over for the next", inlinePolicy{slow: time.Millisecond, budget: never, skips: 7}, `"method":"meet_pause","params":[5]`},
		{"watchdog takes reading over", inlinePolicy{slow: never, budget: 5 * time.Millisecond, skips: 7}, `"method":"meet_pause","params":[0]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, client, recv := serveMeet(t, c.policy)
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

// TestInlineHandoverProbes: after slow messages, reading is handed over to a worker only as a
// probe when the peer waits for each answer (a hand-over every skips+1 slow messages), and pipelined calls that arrive in the stretch without hand-overs are still read
// while a call runs, by the watchdog.
func TestInlineHandoverProbes(t *testing.T) {
	var handovers atomic.Int64
	policy := inlinePolicy{slow: time.Millisecond, budget: 5 * time.Millisecond, skips: 7,
		onHandover: func() { handovers.Add(1) }}
	_, client, recv := serveMeet(t, policy)
	// Sequential slow calls: the first one runs inline, the second one probes (a hand-over),
	// which shows that the peer waits; the next seven run inline, and the tenth probes again.
	calls := 2 + policy.skips + 1
	for i := range calls {
		if _, err := fmt.Fprintf(client, `{"jsonrpc":"2.0","id":%d,"method":"meet_pause","params":[2]}`+"\n", i); err != nil {
			t.Fatal(err)
		}
		if a := recv(); !strings.Contains(a, `"result":2`) {
			t.Fatalf("answer %s", a)
		}
		// A peer that waits for each answer takes a while to send the next request; sent at
		// once, it could find the call's slot not yet released, and be dispatched.
		time.Sleep(time.Millisecond)
	}
	if n := handovers.Load(); n != 2 {
		t.Errorf("%d hand-overs for %d sequential slow calls, want 2", n, calls)
	}
	// Now the hand-overs are skipped again: two pipelined Meet calls meet only if the second
	// is read while the first runs (here, by the watchdog).
	go client.Write([]byte(`{"jsonrpc":"2.0","id":"a","method":"meet_meet"}` + "\n" + `{"jsonrpc":"2.0","id":"b","method":"meet_meet"}` + "\n"))
	for range 2 {
		if a := recv(); !strings.Contains(a, `"result":"met"`) {
			t.Fatalf("answer %s, want met", a)
		}
	}
}
