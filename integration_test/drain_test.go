package integration_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDrain: on SIGTERM with a slow call in flight, the HTTP listener stays open: /readyz
// answers 503 and a new JSON-RPC request 503 with -32006 while the call runs; then the slow
// call is answered, the listener closes (connection refused) and the process exits 0.
func TestDrain(t *testing.T) {
	s := startServer(t, "--metrics", "--metrics.port", "0")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, string, error) {
		resp, err := client.Get(s.HTTP + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b)), nil
	}
	if code, body, err := get("/readyz"); err != nil || code != 200 {
		t.Fatalf("/readyz before SIGTERM: %d %s %v", code, body, err)
	}

	type answer struct {
		at     time.Time
		status int
		body   string
	}
	slow := make(chan answer, 1)
	go func() {
		status, body := postRaw(t, s.HTTP, `{"jsonrpc":"2.0","id":1,"method":"test_block","params":[1500]}`)
		slow <- answer{time.Now(), status, strings.TrimSpace(body)}
	}()
	// test_block ignores its context, as a slow call that must be waited for does. It runs once
	// the metrics count it as started.
	for started := time.Now(); scrapeMetrics(t, s.Metrics)[`polyrpc_server_started_total{method="test_block",transport="http"}`] != 1; {
		if time.Since(started) > 10*time.Second {
			t.Fatal("the slow call did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()

	// /readyz turns 503 while the listener still accepts.
	deadline := signalled.Add(time.Second)
	for {
		code, body, err := get("/readyz")
		if err != nil {
			t.Fatalf("/readyz during the drain: %v (the listener closed before the call finished)", err)
		}
		if code == http.StatusServiceUnavailable {
			if !strings.Contains(body, `"not ready"`) || !strings.Contains(body, "shutting down") {
				t.Errorf("/readyz during the drain: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %s a second after SIGTERM", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	status, body := postRaw(t, s.HTTP, `{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"id":2`) || !strings.Contains(body, "-32006") {
		t.Errorf("a new request during the drain: %d %s, want 503 with -32006", status, body)
	}
	select {
	case a := <-slow:
		t.Fatalf("the slow call was answered before the drain was seen: %d %s", a.status, a.body)
	default:
	}

	a := <-slow
	if a.status != 200 || a.body != `{"jsonrpc":"2.0","id":1,"result":"done"}` {
		t.Errorf("the slow call: %d %s", a.status, a.body)
	}
	t.Logf("slow call answered %v after SIGTERM", a.at.Sub(signalled).Round(time.Millisecond))

	deadline = time.Now().Add(5 * time.Second)
	for {
		_, _, err := get("/readyz")
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listener still answers 5 s after the drain: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.kill()
		t.Fatal("polyrpc did not exit after the drain")
	}
	if s.waitErr != nil {
		t.Errorf("polyrpc exited with %v; stderr:\n%s", s.waitErr, s.stderr.tail(4<<10))
	}
	s.stopOnce.Do(func() {}) // stopped: the cleanup has nothing to do
}
