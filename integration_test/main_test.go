package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/internal/leakcheck"
)

// binPath is the polyrpc binary built by TestMain.
var binPath string

// Timings of the server process.
const (
	startTimeout = 15 * time.Second // from exec to the three endpoint lines on stdout
	stopTimeout  = 15 * time.Second // from SIGTERM to exit (the binary allows calls 5 s to finish)
)

// TestMain builds the binary, runs the tests and fails the run when a test leaves a goroutine
// behind.
func TestMain(m *testing.M) { leakcheck.Main(func() int { return runMain(m) }) }

func runMain(m *testing.M) int {
	if runtime.GOOS == "windows" {
		return m.Run() // every test skips: see startServer
	}
	dir, err := os.MkdirTemp("", "polyrpc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration_test:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "polyrpc")
	// The binary is built without -race whatever the test binary is built with: the race
	// detector would slow the server and inflate the memory the flood tests measure.
	// (go test puts its own toolchain first in PATH.) It is built in its own module's directory,
	// which works with the repository's go.work and without it (GOWORK=off).
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Dir = filepath.Join("..", "cmd", "polyrpc")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "integration_test: building cmd/polyrpc:", err)
		return 1
	}
	return m.Run()
}

// server is a polyrpc process started by startServer.
type server struct {
	PID  int
	HTTP string // http://127.0.0.1:PORT
	WS   string // ws://127.0.0.1:PORT
	IPC  string // the socket path
	// Metrics is the URL of /metrics when the server was started with --metrics.
	Metrics string

	cmd     *exec.Cmd
	stderr  *logBuffer
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // its exit status; read after exited is closed

	stats *http.Client // one keep-alive connection for /debug/stats, so its cost is constant

	linesMu sync.Mutex
	lines   []string // what it printed on stdout

	stopOnce sync.Once
}

// startServer starts polyrpc serve on a free port of 127.0.0.1 and a fresh IPC path, with the
// reference test service and the debug endpoints, and waits until it prints its endpoints.
// When the test ends the process is sent SIGTERM and must exit with status 0 within
// stopTimeout, having removed its IPC socket.
func startServer(t testing.TB, extraArgs ...string) *server {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the end-to-end tests stop the server with SIGTERM, which Windows does not have")
	}
	// A short directory of its own: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "prpc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &server{
		IPC:    filepath.Join(dir, "polyrpc.ipc"),
		stderr: &logBuffer{max: 1 << 20},
		exited: make(chan struct{}),
		stats: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1},
		},
	}
	args := append([]string{"serve",
		"--http.addr", "127.0.0.1", "--http.port", "0",
		"--ipcpath", s.IPC,
		"--dev.testservice", "--dev.debug",
	}, extraArgs...)
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Env = serverEnv()
	// stdout is a pipe of our own (not cmd.StdoutPipe) so that Wait does not race with its
	// reader, which keeps draining it until the process exits.
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = outW, s.stderr
	if err := s.cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		t.Fatal(err)
	}
	outW.Close()
	s.PID = s.cmd.Process.Pid
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	endpoints := make(chan [4]string, 1)
	metrics := slices.Contains(extraArgs, "--metrics") // then wait for its endpoint too
	go func() {
		defer outR.Close()
		var ep [4]string // HTTP, WebSocket, IPC, metrics
		sent := false
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			line := sc.Text()
			s.linesMu.Lock()
			s.lines = append(s.lines, line)
			s.linesMu.Unlock()
			for i, prefix := range []string{"HTTP endpoint: ", "WebSocket endpoint: ", "IPC endpoint: ", "Metrics endpoint: "} {
				if v, ok := strings.CutPrefix(line, prefix); ok {
					ep[i] = v
				}
			}
			if !sent && ep[0] != "" && ep[1] != "" && ep[2] != "" && (!metrics || ep[3] != "") {
				endpoints <- ep
				sent = true
			}
		}
		io.Copy(io.Discard, outR)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case ep := <-endpoints:
		s.HTTP, s.WS, s.Metrics = ep[0], ep[1], ep[3]
		if ep[2] != s.IPC {
			s.kill()
			t.Fatalf("IPC endpoint %q, want %q", ep[2], s.IPC)
		}
	case <-s.exited:
		t.Fatalf("polyrpc exited before printing its endpoints (%v); stderr:\n%s", s.waitErr, s.stderr.tail(4<<10))
	case <-timer.C:
		s.kill()
		t.Fatalf("polyrpc printed no endpoints within %v; stderr:\n%s", startTimeout, s.stderr.tail(4<<10))
	}
	for _, u := range []string{s.HTTP, s.WS} {
		if _, hostPort, _ := strings.Cut(u, "://"); !strings.HasPrefix(hostPort, "127.0.0.1:") {
			s.kill()
			t.Fatalf("endpoint %q is not on 127.0.0.1", u)
		}
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// printed returns what the server printed after prefix on the line that starts with it (the
// lines up to its IPC endpoint's have been read), or "".
func (s *server) printed(prefix string) string {
	s.linesMu.Lock()
	defer s.linesMu.Unlock()
	for _, l := range s.lines {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	return ""
}

// serverEnv is the test's environment without the variables that tune the Go runtime, so that
// the server runs (and its memory is measured) with its defaults.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS":
		default:
			env = append(env, kv)
		}
	}
	return env
}

// stop sends SIGTERM and checks that the process exits with status 0 in time and removes its
// IPC socket; if it does not exit in time it is killed. Only the first call does anything.
func (s *server) stop(t testing.TB) {
	t.Helper()
	s.stopOnce.Do(func() { s.stopNow(t) })
}

func (s *server) stopNow(t testing.TB) {
	t.Helper()
	s.stats.CloseIdleConnections()
	select {
	case <-s.exited:
		t.Errorf("polyrpc (pid %d) exited before the end of the test: %v; stderr:\n%s", s.PID, s.waitErr, s.stderr.tail(8<<10))
		return
	default:
	}
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		s.kill()
		t.Errorf("polyrpc did not exit within %v of SIGTERM; killed; stderr:\n%s", stopTimeout, s.stderr.tail(8<<10))
		return
	}
	if s.waitErr != nil {
		t.Errorf("polyrpc exited with %v after SIGTERM; stderr:\n%s", s.waitErr, s.stderr.tail(8<<10))
	}
	if _, err := os.Lstat(s.IPC); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("IPC socket %s still there after exit (%v)", s.IPC, err)
	}
	t.Logf("polyrpc (pid %d) stopped by SIGTERM in %v", s.PID, time.Since(start).Round(time.Millisecond))
}

// kill ends the process at once and waits for it.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// debugStats is the answer of GET /debug/stats.
type debugStats struct {
	Goroutines int    `json:"goroutines"`
	HeapInuse  uint64 `json:"heapInuse"`
	Sys        uint64 `json:"sys"`
}

func (s *server) debugStats() (debugStats, error) {
	var st debugStats
	resp, err := s.stats.Get(s.HTTP + "/debug/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return st, err
	}
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /debug/stats: %s: %s", resp.Status, body)
	}
	return st, json.Unmarshal(body, &st)
}

// dialIPC opens a raw connection to the server's IPC socket.
func (s *server) dialIPC(t testing.TB) *net.UnixConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", s.IPC)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*net.UnixConn)
}

// logBuffer keeps the first max bytes written to it (the server's log); safe for concurrent use.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	max     int
	dropped int
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room < len(p) {
		b.buf.Write(p[:max(room, 0)])
		b.dropped += len(p) - max(room, 0)
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

// tail returns the last n bytes kept.
func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	out := string(s)
	if b.dropped > 0 {
		out += fmt.Sprintf("\n[%d more bytes of log dropped]", b.dropped)
	}
	return out
}
