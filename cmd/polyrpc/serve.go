package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/services"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/ipc"
)

// shutdownTimeout bounds how long calls in flight may take to finish after SIGINT or SIGTERM.
const shutdownTimeout = 5 * time.Second

// The phases of a node's readiness (/readyz).
const (
	phaseStarting = iota // the endpoints are opening
	phaseServing
	phaseDraining // SIGTERM: the calls in flight finish, new ones are refused
)

// serve runs the server until ctx is done, then shuts it down gracefully. It prints each
// endpoint to out as "NAME endpoint: ADDRESS" once it accepts connections.
func serve(ctx context.Context, cfg *serveConfig, out io.Writer) error {
	log := newLogger(cfg, os.Stderr)
	if cfg.nodeName != "" {
		log = log.With("node", cfg.nodeName)
	}
	log.Debug("soft memory limit", "bytes", applyMemoryLimit())
	broker, err := newBroker(cfg, log)
	if err != nil {
		return err
	}
	if c, ok := broker.(closer); ok {
		defer c.Close()
	}
	chat := services.NewChatOn(broker)
	if err := chat.Err(); err != nil && !cfg.dev.noBuiltins {
		// Started, but not reachable yet: it keeps trying, and /readyz says so meanwhile.
		log.Warn("broker not reachable yet", "broker", cfg.broker.url, "err", err)
	}
	var phase atomic.Int32 // readiness: starting, serving, draining
	cfg.ready = func() error {
		switch phase.Load() {
		case phaseStarting:
			return errors.New("starting")
		case phaseDraining:
			return errors.New("shutting down")
		}
		return chat.Err()
	}
	obs := newObservers(cfg, log)
	ropts := obs.options(&rpc.Options{Logger: log})
	if err := cfg.addLimiter(ropts); err != nil {
		return err
	}
	srv := rpc.NewServer(ropts)
	b, err := registerServicesOn(srv, chat, cfg.dev.noBuiltins, cfg.dev.testService)
	if err != nil {
		return err
	}
	b.admin.SetName(cfg.nodeName)
	b.admin.SetStats(obs.stats.Stats)
	log.Info("chat broker", "broker", cfg.broker.url, "retain", cfg.broker.retain, "rooms", cfg.broker.rooms, "maxAge", cfg.broker.maxAge)
	if cfg.httpAPI == nil {
		cfg.httpAPI = publicNamespaces(srv)
	}
	if cfg.wsAPI == nil {
		cfg.wsAPI = publicNamespaces(srv)
	}

	var servers []*http.Server
	var serveWG sync.WaitGroup
	// start serves h on addr (over TLS with --tls.cert) and prints an endpoint line for each
	// scheme, its name prefixed with prefix.
	start := func(name, addr string, h http.Handler, prefix string, scheme ...string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s endpoint: %w", name, err)
		}
		hs := httprpc.NewHTTPServer(h, httprpc.DefaultTimeouts)
		hs.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
		hs.TLSConfig = cfg.tls.config
		servers = append(servers, hs)
		serveWG.Go(func() {
			run := hs.Serve
			if hs.TLSConfig != nil {
				run = func(ln net.Listener) error { return hs.ServeTLS(ln, "", "") }
			}
			if err := run(ln); !errors.Is(err, http.ErrServerClosed) {
				log.Error("HTTP server failed", "addr", addr, "err", err)
			}
		})
		for _, s := range scheme {
			s = cfg.tls.secure(s)
			url := s + "://" + ln.Addr().String()
			fmt.Fprintf(out, "%s%s endpoint: %s\n", prefix, endpointName(s), url)
			log.Info("endpoint opened", "transport", prefix+endpointName(s), "url", url)
			if prefix != "" {
				s = "authrpc-" + s
			}
			b.admin.AddEndpoint(s, url)
		}
		return nil
	}
	defer cfg.tls.reloadOnHangup(log)()
	httpAddr := net.JoinHostPort(cfg.httpAddr, strconv.Itoa(cfg.httpPort))
	wsAddr := net.JoinHostPort(cfg.wsAddr, strconv.Itoa(cfg.wsPort))
	switch {
	case cfg.shared():
		err = start("HTTP", httpAddr, newRouter(srv, cfg, true, true), "", "http", "ws")
	default:
		if cfg.http {
			err = start("HTTP", httpAddr, newRouter(srv, cfg, true, false), "", "http")
		}
		if err == nil && cfg.ws {
			err = start("WebSocket", wsAddr, newRouter(srv, cfg, false, true), "", "ws")
		}
	}
	if err == nil && cfg.auth.jwtSecret != "" {
		var h http.Handler
		if h, err = cfg.auth.handler(srv, cfg, out, log); err == nil {
			err = start("authenticated", cfg.auth.address(), h, "Auth ", "http", "ws")
		}
	}
	var ep *ipc.Endpoint
	if err == nil && !cfg.ipcDisable {
		if ep, err = ipc.Serve(srv, cfg.ipcPath, nil); err == nil {
			fmt.Fprintf(out, "IPC endpoint: %s\n", cfg.ipcPath)
			b.admin.AddEndpoint("ipc", cfg.ipcPath)
			log.Info("endpoint opened", "transport", "IPC", "path", cfg.ipcPath)
		}
	}
	if err == nil {
		var ms *http.Server
		if ms, err = obs.serveMetrics(cfg, srv, cfg.transports(), out, &serveWG); ms != nil {
			servers = append(servers, ms)
		}
	}
	if err == nil {
		phase.Store(phaseServing)
		<-ctx.Done()
		log.Info("shutting down")
	}
	phase.Store(phaseDraining)

	// Drain: the listeners stay open while the calls in flight finish (up to shutdownTimeout),
	// /readyz answers 503 and new calls are refused (HTTP 503, -32006); then the listeners
	// close, and the connections with them.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	srv.Shutdown(sctx)
	hctx, hcancel := context.WithTimeout(context.Background(), time.Second) // answers being written
	defer hcancel()
	var wg sync.WaitGroup
	for _, hs := range servers {
		wg.Go(func() { hs.Shutdown(hctx) })
	}
	wg.Wait()
	if ep != nil {
		ep.Close()
	}
	for _, hs := range servers {
		hs.Close()
	}
	serveWG.Wait()
	if err == nil {
		log.Info("stopped")
	}
	return err
}

func endpointName(scheme string) string {
	if scheme == "ws" || scheme == "wss" {
		return "WebSocket"
	}
	return "HTTP"
}

func newLogger(cfg *serveConfig, w io.Writer) *slog.Logger {
	if cfg.verbosity == 0 {
		return slog.New(slog.DiscardHandler)
	}
	levels := []slog.Level{0, slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug}
	o := &slog.HandlerOptions{Level: levels[cfg.verbosity]}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
