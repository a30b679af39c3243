package integration_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliTimeout bounds one run of a polyrpc client command.
const cliTimeout = 30 * time.Second

// runPolyrpc runs the binary with args and stdin to completion and returns its output and
// exit status.
func runPolyrpc(t *testing.T, stdin string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(serverEnv(), "NO_COLOR=1", "XDG_CACHE_HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		status = ee.ExitCode()
	default:
		t.Fatalf("polyrpc %q: %v (stderr %s)", args, err, errOut.String())
	}
	return out.String(), errOut.String(), status
}

// TestCall: polyrpc call over each transport; JSON result on stdout and status 0, an error
// answer's object on stderr and status 1, a usage or connection error status 2.
func TestCall(t *testing.T) {
	s := startServer(t)
	for _, tt := range []struct {
		name           string
		args           []string
		status         int
		stdout, stderr string // parts expected
	}{
		{"http", []string{s.HTTP, "test_add", "1", "2"}, 0, "3\n", ""},
		{"ws", []string{s.WS, "test_add", "[1,2]"}, 0, "3\n", ""},
		{"ipc", []string{s.IPC, "test_echoPerson", `{"name":"ann","age":3}`}, 0, `"name": "ann"`, ""},
		{"bare strings", []string{s.HTTP, "chat_send", "lobby", "ann", "hello there"}, 0, `"text": "hello there"`, ""},
		{"error answer", []string{s.HTTP, "test_failCoded"}, 1, "", `{"code":-32042,"message":"coded failure","data":{"why":"testing"}}`},
		{"invalid params", []string{s.IPC, "chat_send", "bad/room", "ann", "x"}, 1, "", `"code":-32602`},
		{"no such method", []string{s.WS, "nope_nothing"}, 1, "", `"code":-32601`},
		{"admin not over HTTP", []string{s.HTTP, "admin_nodeInfo"}, 1, "", `"code":-32601`},
		{"no method", []string{s.HTTP}, 2, "", "needs an endpoint and a method"},
		{"nothing listening", []string{"http://127.0.0.1:1", "test_add"}, 2, "", "connection refused"},
		{"no socket", []string{filepath.Join(t.TempDir(), "none.ipc"), "test_add"}, 2, "", "connecting to"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, status := runPolyrpc(t, "", append([]string{"call"}, tt.args...)...)
			if status != tt.status || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("status %d, stdout %q, stderr %q; want %d, %q, %q", status, out, errOut, tt.status, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestConsoleCommand: polyrpc console on piped input serves the built-in services in process,
// admin included.
func TestConsoleCommand(t *testing.T) {
	out, errOut, status := runPolyrpc(t, "chat_send lobby ann hi\nadmin_nodeInfo\nadmin_peers\n.exit\ntest_add 1 2\n", "console")
	if status != 0 {
		t.Fatalf("status %d, stderr %s", status, errOut)
	}
	for _, want := range []string{`"text": "hi"`, `"name": "polyrpc"`, `"transport": "inproc"`, "error -32601: the method test_add"} {
		if want == "error -32601: the method test_add" {
			if strings.Contains(out, want) {
				t.Errorf("a line after .exit ran:\n%s", out)
			}
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBadSettingsRefused: bad flag values and config keys stop polyrpc at start (status 2)
// with a message naming the flag or key.
func TestBadSettingsRefused(t *testing.T) {
	dir := t.TempDir()
	conf := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ipc := []string{"--ipcpath", filepath.Join(dir, "x.ipc"), "--http.port", "0"}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"port out of range", []string{"--ws.port", "99999"}, "invalid --ws.port 99999"},
		{"port not a number", []string{"--http.port", "eighty"}, "-http.port"},
		{"log format", []string{"--log.format", "xml"}, "invalid --log.format"},
		{"address", []string{"--http.addr", "example.com"}, "invalid --http.addr"},
		{"unknown flag", []string{"--http.prot", "1"}, "http.prot"},
		{"unknown key", []string{"--config", conf("a.toml", "[http]\nprot = 1\n")}, `unknown key "http.prot"`},
		{"key of the wrong type", []string{"--config", conf("b.toml", "[log]\nverbosity = \"loud\"\n")}, "key log.verbosity: want an integer"},
		{"bad value in the file", []string{"--config", conf("c.toml", "[log]\nformat = \"xml\"\n")}, "invalid log.format in "},
		{"missing file", []string{"--config", filepath.Join(dir, "none.toml")}, "--config"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, status := runPolyrpc(t, "", append(append([]string{"serve"}, ipc...), tt.args...)...)
			if status != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("status %d, stderr %q; want 2 and %q", status, errOut, tt.want)
			}
		})
	}
}

// TestConfigFile: settings come from --config; flags given on the command line win.
func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "polyrpc.toml")
	err := os.WriteFile(path, []byte(`
[http]
port = 1          # overridden by startServer's --http.port 0
api = ["test"]    # chat is not offered over HTTP
[ws]
api = ["chat"]
[log]
format = "json"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--config", path)
	if strings.HasSuffix(s.HTTP, ":1") {
		t.Errorf("the file's port won over the flag: %s", s.HTTP)
	}
	if _, errOut, status := runPolyrpc(t, "", "call", s.HTTP, "chat_history", "lobby"); status != 1 || !strings.Contains(errOut, "-32601") {
		t.Errorf("chat over HTTP: status %d %s; want -32601 (http.api from the file)", status, errOut)
	}
	if out, errOut, status := runPolyrpc(t, "", "call", s.WS, "chat_history", "lobby"); status != 0 || out != "[]\n" {
		t.Errorf("chat over WebSocket: status %d %q %s", status, out, errOut)
	}
	if log := s.stderr.tail(4 << 10); !strings.Contains(log, `"msg":"endpoint opened"`) {
		t.Errorf("log.format = json ignored:\n%s", log)
	}
}

// TestVersionAndHelp: polyrpc version, polyrpc help and --help of each command exit 0.
func TestVersionAndHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"version"}, "polyrpc "},
		{[]string{"help"}, "polyrpc attach"},
		{[]string{"serve", "--help"}, "-config"},
		{[]string{"attach", "--help"}, "Usage: polyrpc attach"},
		{[]string{"console", "--help"}, "Usage: polyrpc console"},
		{[]string{"call", "--help"}, "Exit status"},
	} {
		out, errOut, status := runPolyrpc(t, "", tt.args...)
		if status != 0 || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%q: status %d, output %q %q", tt.args, status, out, errOut)
		}
	}
}
