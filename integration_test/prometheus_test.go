package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// prometheusBinary returns the path of Debian's prometheus (.ci/run installs it), or skips.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/prometheus"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	t.Skip("prometheus is not installed (apt-get install prometheus): the end-to-end scrape is not tested")
	return ""
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPrometheusEndToEnd: a real Prometheus server scrapes the binary's /metrics, and a PromQL
// query over its HTTP API answers the number of calls made.
func TestPrometheusEndToEnd(t *testing.T) {
	bin := prometheusBinary(t)
	s := startServer(t, "--metrics", "--metrics.port", "0")
	metricsLoad(t, dialClient(t, s.HTTP, nil), 11)
	target := strings.TrimSuffix(strings.TrimPrefix(s.Metrics, "http://"), "/metrics")

	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: polyrpc
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var log bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()

	const query = `sum(polyrpc_server_handled_total{job="polyrpc",transport="http",method="test_add",code="ok"})`
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("prometheus exited: %v\n%s", err, log.String())
		default:
		}
		if v, err := promQuery(client, addr, query); err != nil {
			last = err.Error()
		} else if last = v; v == "11" {
			t.Logf("Prometheus answered %s = %s", query, v)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not answer 11 for %s within 60 s (last: %s); its log:\n%s", query, last, log.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// promQuery runs an instant PromQL query through Prometheus's HTTP API and returns the value of
// its single sample.
func promQuery(client *http.Client, addr, query string) (string, error) {
	resp, err := client.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return "", fmt.Errorf("answer %s", body)
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	return v, nil
}
