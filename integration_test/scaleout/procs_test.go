package scaleout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The processes of the proof: brokers (nats-server, redis-server), polyrpc nodes and haproxy,
// each on a free port of 127.0.0.1, each stopped when the test ends.

// need returns the path of a program, or skips the test (fails it in CI) when it is missing.
func need(t testing.TB, name, pkg string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/sbin/", "/usr/bin/"} {
		if p, err := exec.LookPath(dir + name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (apt-get install %s): CI must run this test", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	return ""
}

// freePort returns a port of 127.0.0.1 that nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a process of the test, with its output kept for failures.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start starts a process; the test kills it at the end (and shows its output if it failed).
func start(t testing.TB, name, path string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(path, args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, tail(p.out.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// waitTCP waits until addr accepts connections.
func waitTCP(t testing.TB, addr string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %s", p.name, tail(p.out.String(), 2000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not accept connections on %s after 15 s", p.name, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// broker is a NATS or Redis server that the test can kill and restart.
type broker struct {
	kind string // "nats" or "redis"
	port int
	dir  string
	p    *proc
	path string
}

func (b *broker) url() string { return fmt.Sprintf("%s://127.0.0.1:%d", b.kind, b.port) }

func startBroker(t testing.TB, kind string) *broker {
	t.Helper()
	b := &broker{kind: kind, port: freePort(t), dir: t.TempDir()}
	switch kind {
	case "nats":
		b.path = need(t, "nats-server", "nats-server")
	case "redis":
		b.path = need(t, "redis-server", "redis-server")
	}
	b.restart(t)
	return b
}

// restart starts the server (again) on its port, with the same data directory: NATS keeps
// its JetStream files, Redis starts empty (no persistence).
func (b *broker) restart(t testing.TB) {
	t.Helper()
	port := strconv.Itoa(b.port)
	switch b.kind {
	case "nats":
		b.p = start(t, "nats-server", b.path, "-js", "-sd", b.dir, "-a", "127.0.0.1", "-p", port)
	case "redis":
		b.p = start(t, "redis-server", b.path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.dir)
	}
	waitTCP(t, "127.0.0.1:"+port, b.p)
}

// node is a polyrpc process.
type node struct {
	name string
	port int
	args []string
	p    *proc
}

func (n *node) url() string { return "http://127.0.0.1:" + strconv.Itoa(n.port) }

func startNode(t testing.TB, name, brokerURL string) *node {
	t.Helper()
	n := &node{name: name, port: freePort(t)}
	n.args = []string{"serve", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(n.port), "--ipcdisable",
		"--node.name", name, "--broker", brokerURL, "--ws.api", "chat,admin", "--verbosity", "2",
		"--chat.retain", "10000"}
	n.p = start(t, name, binPath, n.args...)
	waitTCP(t, "127.0.0.1:"+strconv.Itoa(n.port), n.p)
	return n
}

// ready reads the node's /readyz: its status code.
func ready(url string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url + "/readyz")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitReady waits until every node's /readyz says want (200 or 503).
func waitReady(t testing.TB, want int, nodes ...*node) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range nodes {
		for ready(n.url()) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: /readyz is not %d after 20 s", n.name, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// lb is haproxy in front of nodes.
type lb struct {
	port int
	p    *proc
}

func (l *lb) http() string { return "http://127.0.0.1:" + strconv.Itoa(l.port) }
func (l *lb) ws() string   { return "ws://127.0.0.1:" + strconv.Itoa(l.port) }

const haproxyConfig = `global
  maxconn 4000
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  timeout http-keep-alive 10s
  option redispatch
  retries 3
frontend fe
  bind 127.0.0.1:%d
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 200ms fall 2 rise 2
%s`

func startLB(t testing.TB, nodes ...*node) *lb {
	t.Helper()
	path := need(t, "haproxy", "haproxy")
	l := &lb{port: freePort(t)}
	var servers strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&servers, "  server %s 127.0.0.1:%d check\n", n.name, n.port)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, haproxyConfig, l.port, servers.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l.p = start(t, "haproxy", path, "-db", "-f", cfg)
	waitTCP(t, "127.0.0.1:"+strconv.Itoa(l.port), l.p)
	// Wait until haproxy sends requests to every node: /readyz names the node that answers.
	seen := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(seen) < len(nodes) {
		if time.Now().After(deadline) {
			t.Fatalf("haproxy reached only %v of %d nodes after 20 s", seen, len(nodes))
		}
		if name := readyNode(l.http()); name != "" {
			seen[name] = true
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return l
}

func readyNode(url string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url + "/readyz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var r struct{ Node string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&r) != nil {
		return ""
	}
	return r.Node
}

// rpcCall makes one JSON-RPC call over HTTP and decodes its result into out; a JSON-RPC error
// is returned as *rpcError.
func rpcCall(ctx context.Context, c *http.Client, url, method string, out any, params ...any) error {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, tail(string(data), 200))
	}
	var a struct {
		Result json.RawMessage
		Error  *rpcError
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	if a.Error != nil {
		return a.Error
	}
	if out != nil {
		return json.Unmarshal(a.Result, out)
	}
	return nil
}

type rpcError struct {
	Code    int
	Message string
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }
