package integration_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// dashboardQueries returns every PromQL expression of the Grafana dashboard: the panels'
// targets and the template variables' queries.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "observability", "grafana", "polyrpc.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && (k == "expr" || k == "definition") {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	return out
}

var metricName = regexp.MustCompile(`\bpolyrpc_[a-z_]+\b`)

// TestDashboardMetrics: every metric name the dashboard's queries use is in a scrape of the
// binary after a load that exercises each of them (calls, errors, a batch, a refusal, a
// subscription, notifications sent and dropped).
func TestDashboardMetrics(t *testing.T) {
	queries := dashboardQueries(t)
	if len(queries) < 10 {
		t.Fatalf("only %d queries found in the dashboard", len(queries))
	}
	s := startServer(t, "--metrics", "--metrics.port", "0")
	ws := dialClient(t, s.WS, nil)
	metricsLoad(t, ws, 2)
	var sum int
	if err := ws.BatchCall(context.Background(), []rpc.BatchElem{{Method: "test_add", Args: []any{1, 2}, Result: &sum}}); err != nil {
		t.Fatal(err)
	}
	ticks := make(chan int, 4)
	if _, err := ws.Subscribe(context.Background(), "nftest", ticks, "ticks", 2, 0); err != nil {
		t.Fatal(err)
	}
	<-ticks
	<-ticks
	postRaw(t, s.HTTP, `{"jsonrpc":"2.0","id":1,`) // invalid JSON: refused
	floodDrop(t, s)

	have := familyNames(scrapeMetrics(t, s.Metrics))
	var used []string
	for _, q := range queries {
		for _, name := range metricName.FindAllString(q, -1) {
			if !slices.Contains(used, name) {
				used = append(used, name)
			}
		}
	}
	slices.Sort(used)
	for _, name := range used {
		if !have[name] {
			t.Errorf("the dashboard queries %s, which the scrape does not have", name)
		}
	}
	t.Logf("the dashboard's %d queries use %d metric names, all scraped: %s", len(queries), len(used), strings.Join(used, " "))
}

// floodDrop makes the server drop notifications under drop-oldest: a WebSocket client
// subscribes to a flood of 30 000 notifications of 1 KB and reads nothing until the server's
// queue is full, then reads until the lag notice arrives.
func floodDrop(t *testing.T, s *server) {
	t.Helper()
	w := dialWS(t, s.WS)
	defer w.Close()
	if err := w.Send([]byte(`{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["flood",30000,1000,"drop-oldest"]}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for scrapeMetrics(t, s.Metrics)["polyrpc_notification_bytes_queued"] < 6<<20 { // the queue holds 8 MiB
		if time.Now().After(deadline) {
			t.Fatal("the flood's queue did not fill")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the producer runs on past the full queue: drops
	for {
		msg, err := w.Recv(10 * time.Second)
		if err != nil {
			t.Fatalf("no lag notice: %v", err)
		}
		if strings.Contains(string(msg), "nftest_subscriptionLag") {
			break
		}
	}
	for scrapeMetrics(t, s.Metrics)[`polyrpc_notifications_dropped_total{method="nftest_subscribe/flood",policy="drop-oldest"}`] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no dropped notifications counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postRaw posts body to url as JSON-RPC and returns the answer's status and body.
func postRaw(t *testing.T, url, body string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
