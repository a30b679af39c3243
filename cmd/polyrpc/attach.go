package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/console"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// clientFlags are the flags of the commands that act as a client.
type clientFlags struct {
	timeout time.Duration
	origin  string
	guards  clientGuards // --jwtsecret, --tls.* (clientauth.go)
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "time limit of each call (and of connecting)")
	fs.StringVar(&f.origin, "origin", "", "Origin header of the WebSocket handshake (for servers that check it)")
	f.guards.register(fs)
}

// dial connects to endpoint within the timeout.
func (f *clientFlags) dial(ctx context.Context, endpoint string) (*rpc.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	opts := &transports.Options{Origin: f.origin}
	if err := f.guards.apply(opts); err != nil {
		return nil, err
	}
	client, err := transports.Dial(ctx, endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", endpoint, err)
	}
	return client, nil
}

// newFlagSet returns a flag set that prints usage (the text, then the flags) to io.err.
func newFlagSet(name, usage string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// attachCmd runs polyrpc attach: the console on a running server.
func attachCmd(ctx context.Context, args []string, io stdio) error {
	var cf clientFlags
	fs := newFlagSet("polyrpc attach", attachUsage, io)
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	endpoint := defaultIPCPath()
	switch fs.NArg() {
	case 0:
	case 1:
		endpoint = fs.Arg(0)
	default:
		return fmt.Errorf("attach takes one endpoint, got %d arguments", fs.NArg())
	}
	client, err := cf.dial(ctx, endpoint)
	if err != nil {
		return err
	}
	defer client.Close()
	return runConsole(ctx, client, endpoint, cf.timeout, io)
}

// consoleCmd runs polyrpc console: the console on an embedded server.
func consoleCmd(ctx context.Context, args []string, io stdio) error {
	fs := newFlagSet("polyrpc console", consoleUsage, io)
	timeout := fs.Duration("timeout", 30*time.Second, "time limit of each call")
	testService := fs.Bool("dev.testservice", false, "also register the reference test service (namespaces test, notify, get)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("console takes no arguments, got %q", fs.Arg(0))
	}
	srv := rpc.NewServer(&rpc.Options{Logger: slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	defer srv.Stop()
	if _, err := registerServices(srv, false, *testService); err != nil {
		return err
	}
	client, err := inproc.Dial(srv)
	if err != nil {
		return err
	}
	defer client.Close()
	return runConsole(ctx, client, "an embedded polyrpc "+versionString(), *timeout, io)
}

// runConsole runs the console on client: with line editing when standard input is a terminal,
// reading plain lines otherwise. SIGTERM and SIGHUP end it; SIGINT ends it too when it reads
// plain lines, but on a terminal Ctrl-C interrupts the call in progress (at the prompt it
// drops the line being typed, and Ctrl-D or .exit leave).
func runConsole(ctx context.Context, client *rpc.Client, name string, timeout time.Duration, io stdio) error {
	cfg := console.Config{
		Client:      client,
		Name:        name,
		Output:      io.out,
		Interactive: io.in == os.Stdin && console.IsTerminal(),
		Color:       useColor(io.out),
		Timeout:     timeout,
	}
	stopOn := stopSignals
	if cfg.Interactive {
		stopOn = withHangup(syscall.SIGTERM)
		intr := make(chan os.Signal, 1)
		signal.Notify(intr, os.Interrupt)
		defer signal.Stop(intr)
		cfg.Interrupt = intr
		cfg.Input = console.NewTerminal(console.HistoryPath())
	} else {
		cfg.Input = console.NewLines(io.in)
	}
	ctx, stop := signal.NotifyContext(ctx, stopOn...)
	defer stop()
	return console.New(cfg).Run(ctx)
}

// useColor reports whether to colour output to w: only on a terminal, and never when the
// NO_COLOR environment variable is set (no-color.org).
func useColor(w any) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
