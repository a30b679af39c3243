package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/stats"
	"github.com/polyrpc/polyrpc/observability/accesslog"
	"github.com/polyrpc/polyrpc/observability/promrpc"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// observers are what watches the server's calls: the Prometheus metrics (--metrics), the
// statistics of admin_stats and the access log (at --verbosity 4 every call, at 3 errors and
// slow calls).
type observers struct {
	metrics *promrpc.Metrics // nil without --metrics
	stats   *stats.Collector
	log     *slog.Logger
}

func newObservers(cfg *serveConfig, log *slog.Logger) *observers {
	o := &observers{stats: stats.New(), log: log}
	if cfg.metrics.enabled {
		o.metrics = promrpc.New(nil)
	}
	return o
}

// options adds the observers' middlewares (metrics first, so that they count what later ones
// refuse) and hooks to opts.
func (o *observers) options(opts *rpc.Options) *rpc.Options {
	var mws []rpc.Middleware
	hooks := []rpc.Hooks{opts.Hooks}
	if o.metrics != nil {
		mws = append(mws, o.metrics.Middleware())
		hooks = append(hooks, o.metrics.Hooks())
	}
	mws = append(mws, o.stats.Middleware(), accesslog.New(&accesslog.Options{Logger: o.log}))
	opts.Middleware = append(mws, opts.Middleware...)
	opts.Hooks = joinHooks(append(hooks, o.stats.Hooks())...)
	return opts
}

// serveMetrics serves /metrics on --metrics.addr:--metrics.port, with the Go runtime's and the
// process's metrics beside polyrpc's, until the returned server is shut down. It returns nil
// without --metrics.
func (o *observers) serveMetrics(cfg *serveConfig, srv *rpc.Server, transports []string, out io.Writer, wg *sync.WaitGroup) (*http.Server, error) {
	if o.metrics == nil {
		return nil, nil
	}
	o.metrics.Attach(srv, transports...)
	reg := prometheus.NewRegistry()
	reg.MustRegister(o.metrics, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(o.log.Handler(), slog.LevelWarn)}))
	addr := net.JoinHostPort(cfg.metrics.addr, strconv.Itoa(cfg.metrics.port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint: %w", err)
	}
	hs := httprpc.NewHTTPServer(mux, httprpc.DefaultTimeouts)
	wg.Go(func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			o.log.Error("metrics server failed", "addr", addr, "err", err)
		}
	})
	url := "http://" + ln.Addr().String() + "/metrics"
	fmt.Fprintf(out, "Metrics endpoint: %s\n", url)
	o.log.Info("endpoint opened", "transport", "metrics", "url", url)
	return hs, nil
}

// joinHooks returns hooks that call each of hs's set hooks in turn.
func joinHooks(hs ...rpc.Hooks) rpc.Hooks {
	var out rpc.Hooks
	for _, h := range hs {
		out.ConnOpened = join1(out.ConnOpened, h.ConnOpened)
		out.ConnClosed = join2(out.ConnClosed, h.ConnClosed)
		out.Refused = join2(out.Refused, h.Refused)
		out.SubscriptionStarted = join2(out.SubscriptionStarted, h.SubscriptionStarted)
		out.SubscriptionEnded = join2(out.SubscriptionEnded, h.SubscriptionEnded)
		out.NotificationsSent = join3(out.NotificationsSent, h.NotificationsSent)
		out.NotificationsDropped = join4(out.NotificationsDropped, h.NotificationsDropped)
	}
	return out
}

func join1[A any](f, g func(A)) func(A) {
	if f == nil {
		return g
	}
	if g == nil {
		return f
	}
	return func(a A) { f(a); g(a) }
}

func join2[A, B any](f, g func(A, B)) func(A, B) {
	if f == nil {
		return g
	}
	if g == nil {
		return f
	}
	return func(a A, b B) { f(a, b); g(a, b) }
}

func join3[A, B, C any](f, g func(A, B, C)) func(A, B, C) {
	if f == nil {
		return g
	}
	if g == nil {
		return f
	}
	return func(a A, b B, c C) { f(a, b, c); g(a, b, c) }
}

func join4[A, B, C, D any](f, g func(A, B, C, D)) func(A, B, C, D) {
	if f == nil {
		return g
	}
	if g == nil {
		return f
	}
	return func(a A, b B, c C, d D) { f(a, b, c, d); g(a, b, c, d) }
}
