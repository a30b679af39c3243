// Command polyrpc runs a polyrpc JSON-RPC 2.0 server.
//
// Usage:
//
//	polyrpc [serve] [flags]
//
// serve (the default) starts the server with its built-in services on every transport: HTTP
// and WebSocket on 127.0.0.1:8545 (one port: WebSocket upgrades go to WebSocket, the rest to
// HTTP), and IPC at a path it prints. Flags follow go-ethereum's names (--http.addr,
// --ws.origins, --ipcpath, …); run polyrpc serve --help for the list. SIGINT or SIGTERM stop it
// gracefully: it stops accepting, lets calls in flight finish (up to 5 s), closes every
// connection, removes the IPC socket and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "polyrpc:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseServeFlags(args, os.Stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, os.Stdout)
	}
	return fmt.Errorf("unknown command %q (commands: serve)", cmd)
}
