// Package accesslog logs the calls of an rpc.Server through log/slog: one record per call
// with its method, transport, peer, connection, request id, duration and outcome. It imports
// only the standard library and package rpc.
//
// It is level-gated so that it can stay on in production: with the logger at Debug every call
// is logged; at Info only the calls answered with an error and the slow ones (and, at Warn,
// internal errors); a record below the logger's level costs a call to Enabled.
//
//	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{accesslog.New(&accesslog.Options{Logger: log})}})
//
// A record's message is "rpc call" and its attributes are method, transport, peer (the remote
// address, when the transport has one), conn (the connection's id), id (the request id as
// sent, absent for a notification), kind (absent for a plain call), duration, code ("ok" or
// the JSON-RPC error code) and, for an error, error (its message).
package accesslog

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// DefaultSlow is the default of Options.Slow.
const DefaultSlow = time.Second

// Options configures [New]. A nil *Options gives the defaults.
type Options struct {
	// Logger receives the records. nil: slog.Default().
	Logger *slog.Logger
	// Slow is the duration from which a successful call is logged at Info rather than Debug.
	// Default DefaultSlow; negative: never.
	Slow time.Duration
	// Batches logs each batch as a whole too, at Debug (its items are logged as calls).
	Batches bool
}

// Levels of the records.
const (
	levelOK    = slog.LevelDebug // a call that succeeded in time
	levelSlow  = slog.LevelInfo  // a call that succeeded, slowly
	levelError = slog.LevelInfo  // a call answered with an error
	levelPanic = slog.LevelWarn  // a call answered -32603 (internal error: a panic, an encoding failure)
)

// New returns the access-log middleware. Put it after a metrics middleware and before those
// that refuse calls (an authoriser, a rate limiter), so that it logs their refusals.
func New(opts *Options) rpc.Middleware {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Slow == 0 {
		o.Slow = DefaultSlow
	}
	log, slow := o.Logger, o.Slow
	epoch := time.Now()
	return func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			// Nothing is measured when no record of the call could be written: levelPanic is
			// the highest level, and a batch is logged at levelOK only.
			if !log.Enabled(ctx, levelPanic) || c.Kind == rpc.KindBatch && !(o.Batches && log.Enabled(ctx, levelOK)) {
				return next(ctx, c)
			}
			start := time.Since(epoch)
			out := next(ctx, c)
			d := time.Since(epoch) - start
			level := levelOK
			switch {
			case out.Err != nil && out.Err.Code == rpc.CodeInternalError:
				level = levelPanic
			case out.Err != nil:
				level = levelError
			case slow >= 0 && d >= slow:
				level = levelSlow
			}
			if log.Enabled(ctx, level) {
				record(ctx, log, level, c, out, d)
			}
			return out
		}
	}
}

// record writes the record of call c.
func record(ctx context.Context, log *slog.Logger, level slog.Level, c *rpc.Call, out rpc.Outcome, d time.Duration) {
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("method", c.Method.Name),
		slog.String("transport", c.Conn.Peer.Transport))
	if c.Conn.Peer.RemoteAddr != "" {
		attrs = append(attrs, slog.String("peer", c.Conn.Peer.RemoteAddr))
	}
	attrs = append(attrs, slog.Uint64("conn", c.Conn.ID))
	if c.ID != nil {
		attrs = append(attrs, slog.String("id", string(c.ID)))
	}
	switch c.Kind {
	case rpc.KindCall:
	case rpc.KindBatch:
		attrs = append(attrs, slog.String("kind", c.Kind.String()), slog.Int("items", c.BatchSize))
	default:
		attrs = append(attrs, slog.String("kind", c.Kind.String()))
	}
	attrs = append(attrs, slog.Duration("duration", d))
	if out.Err != nil {
		attrs = append(attrs, slog.String("code", strconv.Itoa(out.Err.Code)), slog.String("error", out.Err.Message))
	} else {
		attrs = append(attrs, slog.String("code", "ok"))
	}
	if out.Close != "" {
		attrs = append(attrs, slog.String("close", out.Close))
	}
	log.LogAttrs(ctx, level, "rpc call", attrs...)
}
