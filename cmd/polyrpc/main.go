// Command polyrpc runs a polyrpc JSON-RPC 2.0 server, and talks to JSON-RPC 2.0 servers.
//
// Usage:
//
//	polyrpc [serve] [flags]                  run the server (the default)
//	polyrpc attach [flags] [ENDPOINT]        interactive console on a running server
//	polyrpc console [flags]                  interactive console on an embedded server
//	polyrpc call [flags] ENDPOINT METHOD [PARAMS...]
//	polyrpc version
//	polyrpc help [COMMAND]
//
// serve (the default) starts the server with its built-in services (admin, chat) on every
// transport: HTTP and WebSocket on 127.0.0.1:8545 (one port: WebSocket upgrades go to
// WebSocket, browsers asking for a page get the browser console, the rest goes to HTTP), and
// IPC at a path it prints. Flags follow go-ethereum's names (--http.addr, --ws.origins,
// --ipcpath, …) and --config FILE reads the same settings from a TOML file; run
// polyrpc serve --help for the list. SIGINT or SIGTERM stop it gracefully: it drains (its
// listeners stay open while the calls in flight finish, up to 5 s; meanwhile /readyz answers
// 503 and new calls are refused with 503 / -32006), then ends subscriptions, closes the
// listeners and every connection, removes the IPC socket and exits 0.
//
// attach opens a console like geth attach on any JSON-RPC 2.0 server (by default the IPC
// socket of a local polyrpc); console opens it on a server embedded in the process; call makes
// one call for scripts (exit status 1 on an error answer, 2 on a usage or connection error).
//
// # Dependencies
//
// Besides the libraries of the transports, the binary uses:
//
//   - github.com/go-chi/chi/v5 for the HTTP routes and middleware: small, idiomatic net/http,
//     no dependencies of its own;
//   - github.com/BurntSushi/toml for --config: the most widely used Go TOML library, TOML 1.0,
//     stable for years, no dependencies, parse errors with line numbers. A config file is read
//     once at start, so go-toml/v2's speed buys nothing here;
//   - github.com/prometheus/client_golang, through observability/promrpc, for --metrics: the
//     Prometheus client, served on a listener of its own;
//   - github.com/peterh/liner for the console's line editing, history and completion: what
//     go-ethereum's console uses, pure Go, working on unix terminals and the Windows console.
//     v1.2.2 is used because v1.2.3 requires Go 1.26 and polyrpc supports Go 1.25.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK       = 0
	exitRPCError = 1 // the server answered with an error (polyrpc call)
	exitUsage    = 2 // a usage, configuration or connection error
)

// stdio are the standard streams of a command.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr}))
}

// stopSignals are the signals that end a command gracefully: SIGINT, SIGTERM and, unless it
// is ignored (nohup), SIGHUP. An interactive console takes SIGINT (Ctrl-C during a call) to
// interrupt the call instead; see runConsole.
var stopSignals = withHangup(os.Interrupt, syscall.SIGTERM)

// withHangup adds SIGHUP to sigs unless the process was started with it ignored: watching it
// would undo nohup.
func withHangup(sigs ...os.Signal) []os.Signal {
	if signal.Ignored(syscall.SIGHUP) {
		return sigs
	}
	return append(sigs, syscall.SIGHUP)
}

// run runs the command in args and returns the exit status. ctx ends the command early (as
// the signals do, which each command watches for itself).
func run(ctx context.Context, args []string, io stdio) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		var cfg *serveConfig
		if cfg, err = parseServeFlags(args, io.err); err == nil {
			sctx, stop := signal.NotifyContext(ctx, cfg.tls.stopSignals()...)
			err = serve(sctx, cfg, io.out)
			stop()
		}
	case "attach":
		err = attachCmd(ctx, args, io)
	case "console":
		err = consoleCmd(ctx, args, io)
	case "call":
		sctx, stop := signal.NotifyContext(ctx, stopSignals...)
		err = callCmd(sctx, args, io)
		stop()
	case "version":
		fmt.Fprintln(io.out, "polyrpc", versionString())
	case "help":
		return help(args, io)
	default:
		fmt.Fprintf(io.err, "polyrpc: unknown command %q\n\n%s", cmd, mainUsage)
		return exitUsage
	}
	return exitStatus(err, io.err)
}

// exitStatus prints err (unless it is a request for help, already answered) and returns the
// exit status it calls for.
func exitStatus(err error, stderr io.Writer) int {
	var rpcErr *callError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &rpcErr):
		return exitRPCError // call printed the error object
	}
	fmt.Fprintln(stderr, "polyrpc:", err)
	return exitUsage
}

// help prints the usage of polyrpc or of one command.
func help(args []string, io stdio) int {
	if len(args) == 0 {
		fmt.Fprint(io.out, mainUsage)
		return exitOK
	}
	switch args[0] {
	case "serve", "attach", "console", "call":
		return run(context.Background(), []string{args[0], "--help"}, stdio{io.in, io.out, io.out})
	case "version", "help":
		fmt.Fprint(io.out, mainUsage)
		return exitOK
	}
	fmt.Fprintf(io.err, "polyrpc: unknown command %q\n\n%s", args[0], mainUsage)
	return exitUsage
}
