package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigFile(t *testing.T) {
	for _, tt := range []struct {
		name  string
		file  string
		flags []string
		check func(*serveConfig) bool
		err   string // part of the error; "" for success
	}{
		{
			name: "every section",
			file: `
[http]
enabled = true
addr = "127.0.0.1"
port = 9000
api = ["chat", "rpc"]
corsdomain = "http://a.example,http://b.example"
vhosts = ["*"]
[ws]
origins = ["*"]
[ipc]
path = "/tmp/x.ipc"
[log]
verbosity = 4
format = "json"
[dev]
testservice = true
`,
			check: func(c *serveConfig) bool {
				return c.httpPort == 9000 && c.wsPort == 9000 && slices.Equal(c.httpAPI, []string{"chat", "rpc"}) &&
					len(c.httpCORS) == 2 && slices.Equal(c.httpVHosts, []string{"*"}) && slices.Equal(c.wsOrigins, []string{"*"}) &&
					c.ipcPath == "/tmp/x.ipc" && c.verbosity == 4 && c.logFormat == "json" && c.dev.testService
			},
		},
		{
			name:  "flags win over the file",
			file:  "http.port = 9000\nlog.verbosity = 1\n",
			flags: []string{"--http.port", "9001"},
			check: func(c *serveConfig) bool { return c.httpPort == 9001 && c.verbosity == 1 },
		},
		{
			name: "metrics",
			file: "[metrics]\nenabled = true\naddr = \"0.0.0.0\"\nport = 7070\n",
			check: func(c *serveConfig) bool {
				return c.metrics == metricsConfig{enabled: true, addr: "0.0.0.0", port: 7070}
			},
		},
		{name: "bad metrics port", file: "[metrics]\nport = -2\n", err: "invalid metrics.port in "},
		{name: "empty file", file: "", check: func(c *serveConfig) bool {
			return c.httpPort == 8545 && c.metrics == metricsConfig{addr: "127.0.0.1", port: 6060}
		}},
		{name: "unknown key", file: "[http]\nprot = 1\n", err: `unknown key "http.prot"`},
		{name: "unknown table", file: "[htp]\nport = 1\n", err: `unknown key "htp.port"`},
		{name: "wrong type", file: "[http]\nport = \"80\"\n", err: `key http.port: want an integer, got "80"`},
		{name: "bool wanted", file: "[ipc]\ndisable = 1\n", err: "key ipc.disable: want true or false, got an integer"},
		{name: "list of numbers", file: "[http]\napi = [1]\n", err: "key http.api: item 0: want a string"},
		{name: "bad port value", file: "[http]\nport = 70000\n", err: "invalid http.port in "},
		{name: "bad format value", file: "[log]\nformat = \"xml\"\n", err: `invalid log.format in `},
		{name: "bad flag value beats good file", file: "[log]\nverbosity = 3\n", flags: []string{"--verbosity", "9"}, err: "invalid --verbosity 9"},
		{name: "syntax error", file: "a = 1\n[http\n", err: "line 3: expected"},
		{
			name: "broker, node and retention",
			file: "[broker]\nurl = \"nats://127.0.0.1:4222\"\n[node]\nname = \"n1\"\n[chat]\nretain = 50\nrooms = 7\nmaxage = \"2h\"\n",
			check: func(c *serveConfig) bool {
				return c.broker.url == "nats://127.0.0.1:4222" && c.nodeName == "n1" && c.broker.retain == 50 && c.broker.rooms == 7 && c.broker.maxAge == 2*time.Hour
			},
		},
		{name: "bad broker", file: "[broker]\nurl = \"kafka://x:1\"\n", err: `invalid broker.url in `},
		{
			name: "authrpc",
			file: "[authrpc]\naddr = \"127.0.0.1\"\nport = 9551\njwtsecret = \"/tmp/jwt.hex\"\nvhosts = [\"*\"]\napi = [\"admin\", \"chat\"]\n",
			check: func(c *serveConfig) bool {
				return c.auth.port == 9551 && c.auth.jwtSecret == "/tmp/jwt.hex" && slices.Equal(c.auth.vhosts, []string{"*"}) &&
					slices.Equal(c.auth.api, []string{"admin", "chat"})
			},
		},
		{name: "authrpc defaults", file: "", check: func(c *serveConfig) bool {
			return c.auth.port == 8551 && c.auth.addr == "127.0.0.1" && c.auth.jwtSecret == "" && c.auth.api == nil &&
				slices.Equal(c.auth.vhosts, []string{"localhost"})
		}},
		{name: "authrpc port of HTTP", file: "[authrpc]\njwtsecret = \"x\"\nport = 8545\n", err: "invalid authrpc.port in "},
		{name: "tls files missing", file: "[tls]\ncert = \"/nonexistent.crt\"\nkey = \"/nonexistent.key\"\n", err: "invalid tls.cert in "},
		{name: "tls cert without key", file: "[tls]\ncert = \"/nonexistent.crt\"\n", err: "tls.cert in "},
		{
			name: "limits",
			file: "[[limits]]\nmethods = [\"chat_send\"]\nrate = 5.0\nburst = 10\nkey = \"ip\"\nconcurrency = 0\n" +
				"[[limits]]\nmethods = [\"chat_*\", \"*\"]\nrate = 100\nkey = \"principal\"\n" +
				"[[limits]]\nmethods = [\"chat_history\"]\nconcurrency = 2\n",
			check: func(c *serveConfig) bool {
				return len(c.limits) == 3 && c.limits[0].Rate == 5 && c.limits[0].Burst == 10 && c.limits[0].Key == "ip" &&
					c.limits[1].Rate == 100 && c.limits[1].Key == "principal" && slices.Equal(c.limits[1].Methods, []string{"chat_*", "*"}) &&
					c.limits[2].Concurrency == 2
			},
		},
		{name: "limits unknown key", file: "[[limits]]\nmethods = [\"*\"]\nrate = 1\nbrust = 2\n", err: `[[limits]] #1: unknown key "brust"`},
		{name: "limits bad key", file: "[[limits]]\nmethods = [\"*\"]\nrate = 1\n[[limits]]\nmethods = [\"*\"]\nrate = 1\nkey = \"user\"\n", err: `[[limits]] #2: key key: "user": want ip, connection or principal`},
		{name: "limits negative rate", file: "[[limits]]\nmethods = [\"*\"]\nrate = -1.0\n", err: "[[limits]] #1: key rate: -1"},
		{name: "limits bad method", file: "[[limits]]\nmethods = [\"chat*\"]\nrate = 1\n", err: `[[limits]] #1: key methods: "chat*"`},
		{name: "limits method not a list", file: "[[limits]]\nmethods = \"chat_send\"\nrate = 1\n", err: "[[limits]] #1: key methods: want an array of strings"},
		{name: "limits limiting nothing", file: "[[limits]]\nmethods = [\"*\"]\n", err: "[[limits]] #1: key rate: neither"},
		{name: "limits not tables", file: "limits = 3\n", err: "limits: want [[limits]] tables"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "polyrpc.toml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := parseServeFlags(append(tt.flags, "--config", path), io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
	if _, err := parseServeFlags([]string{"--config", "/nonexistent/polyrpc.toml"}, io.Discard); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("missing file: %v", err)
	}
}

// TestConfigKeysMatchFlags: every config key sets an existing flag, and every setting flag
// (all but --config) has a key.
func TestConfigKeysMatchFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.toml")
	os.WriteFile(path, nil, 0o600)
	var sb strings.Builder
	parseServeFlags([]string{"--help"}, &sb)
	for _, ck := range configKeys {
		if !strings.Contains(sb.String(), "-"+ck.flag+" ") && !strings.Contains(sb.String(), "-"+ck.flag+"\n") {
			t.Errorf("key %s: no flag --%s", ck.key, ck.flag)
		}
	}
	n := strings.Count(sb.String(), "\n  -")
	if n != len(configKeys)+1 {
		t.Errorf("%d flags, %d config keys: each flag but --config needs a key", n, len(configKeys))
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"--http.port", "-5"}, "invalid --http.port -5"},
		{[]string{"--ws.port", "70000"}, "invalid --ws.port 70000"},
		{[]string{"--http.addr", "example.com"}, "invalid --http.addr"},
		{[]string{"--log.format", "xml"}, "invalid --log.format"},
		{[]string{"--http.port", "abc"}, "http.port"},
		{[]string{"--nope"}, "nope"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--ipcpath", ""}, "invalid --ipcpath"},
		{[]string{"--http=false", "--ws=false", "--ipcdisable"}, "nothing to serve"},
		{[]string{"--broker", "nats://"}, "invalid --broker"},
		{[]string{"--broker", "redis"}, "invalid --broker"},
		{[]string{"--node.name", "a b"}, "invalid --node.name"},
		{[]string{"--chat.retain", "0"}, "invalid --chat.retain 0"},
		{[]string{"--chat.rooms", "-1"}, "invalid --chat.rooms -1"},
		{[]string{"--chat.maxage", "-1s"}, "invalid --chat.maxage"},
		{[]string{"--authrpc.port", "70000"}, "invalid --authrpc.port 70000"},
		{[]string{"--authrpc.addr", "host"}, "invalid --authrpc.addr"},
		{[]string{"--tls.key", "k.pem"}, "--tls.cert and --tls.key go together"},
		{[]string{"--tls.clientca", "ca.pem"}, "--tls.cert and --tls.key go together"},
	} {
		if _, err := parseServeFlags(tt.args, io.Discard); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: got %v, want %q", tt.args, err, tt.err)
		}
	}
}

// TestREADMEConfig: the config file example of the README is valid.
func TestREADMEConfig(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```toml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the README has no ```toml block")
	}
	path := filepath.Join(t.TempDir(), "example.toml")
	os.WriteFile(path, []byte(example), 0o600)
	c, err := parseServeFlags([]string{"--config", path}, io.Discard)
	if err != nil {
		t.Fatalf("the README's config example: %v", err)
	}
	if c.logFormat != "json" || len(c.fromFile) < 10 {
		t.Errorf("the README's config example was not applied: %+v", c)
	}
}
