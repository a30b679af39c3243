// Command polyrpc runs a polyrpc JSON-RPC 2.0 server with its built-in services.
//
// Usage:
//
//	polyrpc [--ipcpath PATH]
//
// It serves over IPC (a unix domain socket) at PATH, by default polyrpc.ipc in $XDG_RUNTIME_DIR
// or the temporary directory, and prints the path. SIGINT or SIGTERM stop it gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "polyrpc:", err)
		os.Exit(1)
	}
}

func defaultIPCPath() string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "polyrpc.ipc")
}

func run(args []string) error {
	fs := flag.NewFlagSet("polyrpc", flag.ContinueOnError)
	ipcPath := fs.String("ipcpath", defaultIPCPath(), "path of the IPC socket")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv := rpc.NewServer(&rpc.Options{Logger: log})

	if c, err := net.Dial("unix", *ipcPath); err == nil {
		c.Close()
		return fmt.Errorf("%s is in use by a running server", *ipcPath)
	}
	os.Remove(*ipcPath)
	ln, err := net.Listen("unix", *ipcPath)
	if err != nil {
		return err
	}
	os.Chmod(*ipcPath, 0o600)
	log.Info("IPC endpoint opened", "path", *ipcPath)
	fmt.Println("IPC endpoint:", *ipcPath)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				log.Error("accept", "err", err)
			}
			break
		}
		go srv.ServeStream(conn, rpc.ConnOptions{Peer: rpc.PeerInfo{Transport: rpc.TransportIPC}})
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	os.Remove(*ipcPath)
	log.Info("stopped")
	return nil
}
