package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/polyrpc/polyrpc/guard/jwtauth"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// authFlags are the settings of the authenticated endpoint (go-ethereum's --authrpc.*): HTTP
// and WebSocket on one port, every request and upgrade needing a JWT signed with the secret.
type authFlags struct {
	addr      string
	port      int
	jwtSecret string // the secret's file; "": no authenticated endpoint
	vhosts    []string
	api       []string // nil: every namespace, admin included

	vhostsFlag, apiFlag string
}

func (f *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "authrpc.addr", "127.0.0.1", "authenticated endpoint's listening interface")
	fs.IntVar(&f.port, "authrpc.port", 8551, "authenticated endpoint's port (HTTP and WebSocket; 0: any free port)")
	fs.StringVar(&f.jwtSecret, "authrpc.jwtsecret", "", "serve the authenticated endpoint, whose clients need JWTs signed with the secret in this file (created, mode 0600, if missing)")
	fs.StringVar(&f.vhostsFlag, "authrpc.vhosts", "localhost", "virtual hostnames the authenticated endpoint accepts, comma separated (* for any)")
	fs.StringVar(&f.apiFlag, "authrpc.api", "", "namespaces offered on the authenticated endpoint, comma separated (empty: all, admin included)")
}

// validate checks the settings once the flags and the file are read.
func (f *authFlags) validate(c *serveConfig) error {
	f.vhosts, f.api = list(f.vhostsFlag), list(f.apiFlag)
	if f.vhosts == nil {
		f.vhosts = []string{}
	}
	if f.port < 0 || f.port > 65535 {
		return fmt.Errorf("invalid %s %d: want 0 to 65535", c.name("authrpc.port"), f.port)
	}
	if f.addr != "localhost" && net.ParseIP(f.addr) == nil {
		return fmt.Errorf("invalid %s %q: want an IP address or localhost", c.name("authrpc.addr"), f.addr)
	}
	if f.jwtSecret != "" && f.port != 0 && c.http && f.port == c.httpPort && f.addr == c.httpAddr {
		return fmt.Errorf("invalid %s %d: the HTTP endpoint has it", c.name("authrpc.port"), f.port)
	}
	return nil
}

// handler returns the authenticated endpoint's handler on srv: it reads the JWT secret,
// creating its file if there is none (and saying so on out).
func (f *authFlags) handler(srv *rpc.Server, c *serveConfig, out io.Writer, log *slog.Logger) (http.Handler, error) {
	secret, created, err := jwtauth.LoadOrCreateSecret(f.jwtSecret)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name("authrpc.jwtsecret"), err)
	}
	if created {
		fmt.Fprintf(out, "JWT secret created: %s\n", f.jwtSecret)
	}
	log.Info("JWT secret", "path", f.jwtSecret, "created", created)
	auth := jwtauth.NewVerifier(secret)
	rpcH := c.limitHTTP(httprpc.NewHandler(srv, &httprpc.Options{Namespaces: f.api, VirtualHosts: f.vhosts, Authenticator: auth}))
	wsH := wsrpc.NewHandler(srv, &wsrpc.Options{Namespaces: f.api, Authenticator: auth})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wsrpc.IsUpgrade(r) {
			wsH.ServeHTTP(w, r)
			return
		}
		rpcH.ServeHTTP(w, r)
	}), nil
}

// address is the endpoint's listening address.
func (f *authFlags) address() string { return net.JoinHostPort(f.addr, strconv.Itoa(f.port)) }
