package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/polyrpc/polyrpc/guard/ratelimit"
)

// serveConfig is what serve needs; parseServeFlags fills it from go-ethereum-style flags.
type serveConfig struct {
	http       bool
	httpAddr   string
	httpPort   int
	httpAPI    []string // nil: every namespace
	httpCORS   []string
	httpVHosts []string
	proxies    trustedProxies // --http.trustedproxies (proxies.go)
	ws         bool
	wsAddr     string
	wsPort     int
	wsAPI      []string
	wsOrigins  []string
	ipcPath    string
	ipcDisable bool
	verbosity  int
	logFormat  string
	broker     brokerConfig
	nodeName   string // "": not named (admin_nodeInfo says polyrpc)
	metrics    metricsConfig
	dev        devConfig

	// Guards: the authenticated endpoint (authrpc.go), TLS (tls.go), the [[limits]] of the
	// config file (limits.go) and, once serve has built it, their limiter.
	auth    authFlags
	tls     tlsFlags
	limits  []ratelimit.Rule
	limiter *ratelimit.Limiter

	// ready reports whether the node can serve (its broker is reachable): /readyz. nil:
	// always ready.
	ready func() error

	configPath string
	// fromFile names each flag that the config file set by its key and file, for messages.
	fromFile map[string]string
}

// metricsConfig is where the Prometheus metrics are served (go-ethereum's --metrics flags).
type metricsConfig struct {
	enabled bool
	addr    string
	port    int
}

// devConfig holds flags for development and tests, not for production.
type devConfig struct {
	testService bool // register the reference test service (internal/testservice)
	noBuiltins  bool // leave out the built-in services (admin, chat)
	debug       bool // serve /debug/pprof/ and /debug/stats on the HTTP port
}

// defaultIPCPath is polyrpc.ipc in $XDG_RUNTIME_DIR, or the temporary directory; on Windows a
// named pipe.
func defaultIPCPath() string {
	if runtime.GOOS == "windows" {
		return `\\.\pipe\polyrpc.ipc`
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "polyrpc.ipc")
}

// parseServeFlags reads the flags of polyrpc serve and, with --config, its TOML config file;
// a flag given on the command line wins over the file.
func parseServeFlags(args []string, stderr io.Writer) (*serveConfig, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("polyrpc serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.configPath, "config", "", "TOML file with the same settings as these flags (see the README); flags win")
	var httpAPI, httpCORS, httpVHosts, wsAPI, wsOrigins, proxies string
	fs.BoolVar(&c.http, "http", true, "serve JSON-RPC over HTTP")
	fs.StringVar(&c.httpAddr, "http.addr", "127.0.0.1", "HTTP listening interface")
	fs.IntVar(&c.httpPort, "http.port", 8545, "HTTP listening port (0: any free port)")
	fs.StringVar(&httpAPI, "http.api", "", "namespaces offered over HTTP, comma separated (empty: all but admin)")
	fs.StringVar(&httpCORS, "http.corsdomain", "", "origins allowed to make cross-origin requests, comma separated (* for any)")
	fs.StringVar(&httpVHosts, "http.vhosts", "localhost", "virtual hostnames accepted in the Host header, comma separated (* for any)")
	fs.StringVar(&proxies, "http.trustedproxies", "", "load balancers and proxies (addresses or CIDR prefixes, comma separated) whose X-Forwarded-For names the client, for logs, hooks and limits keyed by ip (HTTP and WebSocket)")
	fs.BoolVar(&c.ws, "ws", true, "serve JSON-RPC over WebSocket")
	fs.StringVar(&c.wsAddr, "ws.addr", "", "WebSocket listening interface (empty: as --http.addr)")
	fs.IntVar(&c.wsPort, "ws.port", -1, "WebSocket listening port (default: the HTTP port, sharing its listener)")
	fs.StringVar(&wsAPI, "ws.api", "", "namespaces offered over WebSocket, comma separated (empty: all but admin)")
	fs.StringVar(&wsOrigins, "ws.origins", "", "origins allowed to open WebSocket connections, comma separated (* for any; empty: same host and non-browser clients)")
	fs.StringVar(&c.ipcPath, "ipcpath", defaultIPCPath(), "IPC socket path (a named pipe \\\\.\\pipe\\NAME on Windows)")
	fs.BoolVar(&c.ipcDisable, "ipcdisable", false, "do not serve IPC")
	fs.IntVar(&c.verbosity, "verbosity", 3, "log level: 0 silent, 1 error, 2 warn, 3 info, 4 debug")
	fs.StringVar(&c.logFormat, "log.format", "text", "log format: text or json")
	fs.StringVar(&c.broker.url, "broker", "memory", "where chat rooms live: memory (this process only), nats://HOST:PORT (NATS JetStream) or redis://HOST:PORT, shared by every node on it")
	fs.StringVar(&c.nodeName, "node.name", "", "this node's name, shown by admin_nodeInfo and in the logs (letters, digits, '.', '_', '-')")
	fs.IntVar(&c.broker.retain, "chat.retain", 1000, "messages kept per chat room (the broker's retention)")
	fs.IntVar(&c.broker.rooms, "chat.rooms", 1000, "chat rooms kept: past it the least recently active room is forgotten (NATS: at most retain×rooms messages in all)")
	fs.DurationVar(&c.broker.maxAge, "chat.maxage", 0, "messages older than this are forgotten (e.g. 24h; 0: no age limit)")
	fs.BoolVar(&c.metrics.enabled, "metrics", false, "serve Prometheus metrics at /metrics on their own listener")
	fs.StringVar(&c.metrics.addr, "metrics.addr", "127.0.0.1", "metrics listening interface")
	fs.IntVar(&c.metrics.port, "metrics.port", 6060, "metrics listening port (0: any free port)")
	fs.BoolVar(&c.dev.testService, "dev.testservice", false, "register the reference test service (namespaces test, notify, get); for tests")
	fs.BoolVar(&c.dev.noBuiltins, "dev.nobuiltins", false, "leave out the built-in services admin and chat (for the conformance transcripts, whose rpc_modules lists the test service only)")
	fs.BoolVar(&c.dev.debug, "dev.debug", false, "serve /debug/pprof/ and /debug/stats over HTTP; for tests and diagnosis")
	c.auth.register(fs)
	c.tls.register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (polyrpc serve takes flags only)", fs.Arg(0))
	}
	if c.configPath != "" {
		var err error
		if c.fromFile, err = applyConfigFile(fs, c.configPath, &c.limits); err != nil {
			return nil, err
		}
	}
	c.httpAPI, c.wsAPI = list(httpAPI), list(wsAPI)
	c.httpCORS, c.httpVHosts, c.wsOrigins = list(httpCORS), list(httpVHosts), list(wsOrigins)
	if c.httpVHosts == nil {
		c.httpVHosts = []string{}
	}
	var err error
	if c.proxies, err = parseTrustedProxies(c.name("http.trustedproxies"), list(proxies)); err != nil {
		return nil, err
	}
	if c.wsAddr == "" {
		c.wsAddr = c.httpAddr
	}
	if c.wsPort == -1 {
		c.wsPort = c.httpPort
	}
	return c, c.validate()
}

// list splits a comma-separated flag value; empty gives nil.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// name is how messages refer to a setting: its flag, or its key in the config file that set it.
func (c *serveConfig) name(flag string) string {
	if n, ok := c.fromFile[flag]; ok {
		return n
	}
	return "--" + flag
}

func (c *serveConfig) validate() error {
	for _, p := range []struct {
		flag string
		port int
	}{{"http.port", c.httpPort}, {"ws.port", c.wsPort}, {"metrics.port", c.metrics.port}} {
		if p.port < 0 || p.port > 65535 {
			return fmt.Errorf("invalid %s %d: want 0 to 65535", c.name(p.flag), p.port)
		}
	}
	for _, a := range []struct{ flag, addr string }{{"http.addr", c.httpAddr}, {"ws.addr", c.wsAddr}, {"metrics.addr", c.metrics.addr}} {
		if a.addr != "localhost" && net.ParseIP(a.addr) == nil {
			return fmt.Errorf("invalid %s %q: want an IP address or localhost", c.name(a.flag), a.addr)
		}
	}
	if c.verbosity < 0 || c.verbosity > 4 {
		return fmt.Errorf("invalid %s %d: want 0 to 4", c.name("verbosity"), c.verbosity)
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return fmt.Errorf("invalid %s %q: want text or json", c.name("log.format"), c.logFormat)
	}
	if !c.ipcDisable && c.ipcPath == "" {
		return fmt.Errorf("invalid %s: empty (use --ipcdisable to serve no IPC)", c.name("ipcpath"))
	}
	if !c.http && !c.ws && c.ipcDisable {
		return fmt.Errorf("nothing to serve: --http=false, --ws=false and --ipcdisable")
	}
	if !validNodeName(c.nodeName) {
		return fmt.Errorf("invalid %s %q: want up to 64 letters, digits, '.', '_' or '-'", c.name("node.name"), c.nodeName)
	}
	if err := c.auth.validate(c); err != nil {
		return err
	}
	if err := c.tls.validate(c); err != nil {
		return err
	}
	return c.validateBroker()
}

// validNodeName reports whether s is a node name (empty: none).
func validNodeName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

// shared reports whether HTTP and WebSocket share one listener.
func (c *serveConfig) shared() bool {
	return c.http && c.ws && c.wsAddr == c.httpAddr && c.wsPort == c.httpPort
}

// transports lists the transports the configuration serves, by their rpc names.
func (c *serveConfig) transports() []string {
	var out []string
	if c.http {
		out = append(out, "http")
	}
	if c.ws {
		out = append(out, "ws")
	}
	if !c.ipcDisable {
		out = append(out, "ipc")
	}
	return out
}
