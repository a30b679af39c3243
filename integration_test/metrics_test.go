package integration_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
)

// metricsLoad makes the scripted calls on c: n test_add, 2 test_fail (-32000), 1 unknown
// method (-32601, under _OTHER) and 1 test_add with a string (-32602).
func metricsLoad(t *testing.T, c *rpc.Client, n int) {
	t.Helper()
	ctx := context.Background()
	var sum int
	for i := range n {
		if err := c.Call(ctx, &sum, "test_add", i, 1); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := c.Call(ctx, nil, "test_fail"); err == nil {
			t.Fatal("test_fail did not fail")
		}
	}
	if err := c.Call(ctx, nil, "test_noSuchMethod"); err == nil {
		t.Fatal("test_noSuchMethod did not fail")
	}
	if err := c.Call(ctx, &sum, "test_add", "x", 1); err == nil {
		t.Fatal("test_add with a string did not fail")
	}
}

// scrapeMetrics reads the Prometheus text exposition at url into a map from series, as
// printed (name{label="value",…}), to value.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", url, line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// familyNames returns the metric names of a scrape (a series' name up to its labels).
func familyNames(scrape map[string]float64) map[string]bool {
	names := map[string]bool{}
	for k := range scrape {
		name, _, _ := strings.Cut(k, "{")
		names[name] = true
	}
	return names
}

// TestMetricsScrape: after a scripted load on each transport, /metrics counts exactly the
// calls made on it, by method and code.
func TestMetricsScrape(t *testing.T) {
	s := startServer(t, "--metrics", "--metrics.port", "0")
	if !strings.HasPrefix(s.Metrics, "http://127.0.0.1:") || !strings.HasSuffix(s.Metrics, "/metrics") {
		t.Fatalf("metrics endpoint %q", s.Metrics)
	}
	loads := map[string]int{"http": 3, "ws": 5, "ipc": 7} // test_add calls per transport
	for tr, n := range loads {
		ep := map[string]string{"http": s.HTTP, "ws": s.WS, "ipc": s.IPC}[tr]
		metricsLoad(t, dialClient(t, ep, nil), n)
	}
	got := scrapeMetrics(t, s.Metrics)
	for tr, n := range loads {
		for k, v := range map[string]float64{
			`polyrpc_server_started_total{method="test_add",transport="%s"}`:                float64(n + 1),
			`polyrpc_server_handled_total{code="ok",method="test_add",transport="%s"}`:      float64(n),
			`polyrpc_server_handled_total{code="-32602",method="test_add",transport="%s"}`:  1,
			`polyrpc_server_handled_total{code="-32000",method="test_fail",transport="%s"}`: 2,
			`polyrpc_server_handled_total{code="-32601",method="_OTHER",transport="%s"}`:    1,
			`polyrpc_server_handling_seconds_count{method="test_add",transport="%s"}`:       float64(n + 1),
			`polyrpc_server_started_total{method="test_sub",transport="%s"}`:                -1, // not registered: absent
			`polyrpc_server_started_total{method="test_subtract",transport="%s"}`:           0,  // registered: pre-created
			`polyrpc_server_handled_total{code="ok",method="chat_send",transport="%s"}`:     0,
		} {
			series := fmt.Sprintf(k, tr)
			have, ok := got[series]
			if v < 0 {
				if ok {
					t.Errorf("%s = %v, want no such series", series, have)
				}
				continue
			}
			if !ok || have != v {
				t.Errorf("%s = %v (present %v), want %v", series, have, ok, v)
			}
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no go_goroutines: the Go runtime's metrics are missing")
	}
}
