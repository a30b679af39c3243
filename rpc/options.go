package rpc

import (
	"log/slog"
	"time"

	"github.com/polyrpc/polyrpc/internal/wire"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// Options configures a [Server]. The zero value, and a nil *Options, give the defaults documented
// on each field. A negative limit removes that limit.
type Options struct {
	// BatchItemLimit is the most requests one batch may hold. A larger batch is answered with a
	// single -32600 "batch too large" and none of it runs. Default 1000 (go-ethereum's node default).
	BatchItemLimit int

	// BatchResponseMaxBytes bounds the size of a batch's answer. Once the answers so far reach it,
	// the remaining calls are not run and are answered -32003 "response too large".
	// Default 25,000,000 (go-ethereum's node default).
	BatchResponseMaxBytes int

	// MaxMessageBytes bounds one incoming message (a request or a whole batch). A larger message
	// is answered -32600 "message too large" and the connection stays usable; on stream
	// transports (IPC) it is skipped without being buffered. HTTP and WebSocket transports also
	// have limits of their own, applied before the message reaches the server. Default 32 MiB.
	MaxMessageBytes int

	// MaxConcurrentCalls bounds the calls (a batch counts as one) that run at once on one
	// connection. Further requests wait: the connection is not read until a call finishes.
	// Default 64.
	MaxConcurrentCalls int

	// MaxRequestBytesInFlight is a server-wide budget for the bytes of requests being read or
	// run, shared by all transports: a request that would exceed it is refused at once (HTTP 503,
	// -32005 "server busy" on connections) instead of being buffered, and the connection stays
	// usable. Default 128 MiB.
	MaxRequestBytesInFlight int

	// MaxMethodNameLength bounds the method name; a longer one is -32600. Default 2048.
	MaxMethodNameLength int

	// CallTimeout, when positive, bounds each call (each batch, as a whole). At the deadline the
	// method's context is cancelled and the caller is answered -32002 "request timed out"; what
	// the method returns later is discarded. Default 0: no timeout.
	CallTimeout time.Duration

	// StopTimeout bounds how long Stop waits for in-flight calls after cancelling their contexts.
	// Default 5s.
	StopTimeout time.Duration

	// Subscriptions bounds each connection's subscriptions and its queue of notifications, and
	// sets the default overflow policy for a client that does not read them; see
	// [subscriptions.Limits] for the defaults (1024 subscriptions, 10 000 notifications or
	// 8 MiB queued, close the connection on overflow).
	Subscriptions subscriptions.Limits

	// MaxQueuedNotificationBytes is a server-wide budget for the bytes of notifications queued
	// on all connections together ([subscriptions.Budget], see Server.NotificationBudget):
	// when it is spent, a notification that its connection's queue would take meets its
	// subscription's policy as if that queue were full (a lag notice under the drop
	// policies, the connection closed under CloseConn; NotifyWait waits). Default 256 MiB.
	MaxQueuedNotificationBytes int

	// Logger receives the server's log records (panics with their stacks, dropped connections).
	// Default slog.Default().
	Logger *slog.Logger

	// Name is the title of the server's OpenRPC document (rpc.discover). Default "polyrpc".
	Name string

	// Version is the version in the OpenRPC document's info: the API's version. Default: the
	// main module's version from the binary's build information, or "devel".
	Version string

	// Middleware wraps every call of every transport, the first outermost; see [Middleware].
	// None by default: a call then costs nothing more than without this field.
	Middleware []Middleware

	// Hooks are told when connections open and close, when requests are refused before
	// becoming calls, and what becomes of subscriptions; see [Hooks]. None by default.
	Hooks Hooks

	// CancelMethod is the notification by which a client cancels a call it sent on the same
	// connection: {"jsonrpc":"2.0","method":CancelMethod,"params":{"id":ID}} (or "params":[ID]).
	// The call's context is cancelled and, unless it has been answered already, the call is
	// answered -32800 "request cancelled" (in a batch, the id of any of its calls cancels the
	// batch: the calls not yet answered are answered so). An unknown or finished id is
	// ignored; the notification is never answered and middlewares do not see it. Default
	// [DefaultCancelMethod], the Language Server Protocol's name; "-" turns cancellation off.
	CancelMethod string

	// MaxCallbacks bounds the calls to the client ([CallClient]) that wait for their answers at
	// once on one connection; the next waits until one returns or its context ends. Default 16.
	MaxCallbacks int

	// CallbackTimeout bounds a call to the client ([CallClient]) whose context has no
	// deadline, so that a client that never answers cannot hold a method. Default
	// [DefaultCallbackTimeout] (30 s); negative: no bound.
	CallbackTimeout time.Duration

	// MaxStreams bounds the client streams open at once on one connection (see [Stream]); a
	// stream is open from the call that opens it to its end (or the connection's). Default 16.
	MaxStreams int

	// StreamBuffer is how many values a client stream holds for its method: a value that finds
	// it full is answered once the method has taken one. Default 16, also for a negative value:
	// a stream's buffer is always bounded.
	StreamBuffer int
}

// DefaultCancelMethod is the default of Options.CancelMethod, the name the Language Server
// Protocol gives its cancel notification. [Client.SetCancelMethod] takes it too.
const DefaultCancelMethod = "$/cancelRequest"

// config is Options with the defaults applied and negative values turned into "no limit".
type config struct {
	batchItems      int
	batchBytes      int
	maxMessage      int
	maxConcurrent   int
	maxInFlight     int
	maxMethodName   int
	callTimeout     time.Duration
	stopTimeout     time.Duration
	log             *slog.Logger
	subLimits       subscriptions.Limits
	maxPushBytes    int // MaxQueuedNotificationBytes; unlimited: none
	inline          inlinePolicy
	handler         Handler // the middlewares around final; nil without middlewares
	hooks           Hooks
	cancelQuoted    []byte // CancelMethod as a JSON string; nil: cancellation is off
	maxCallbacks    int
	callbackTimeout time.Duration // 0: none
	maxStreams      int
	streamBuffer    int

	name, version string // the OpenRPC document's info, see documentInfo
}

const unlimited = int(^uint(0) >> 1)

func limit(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return unlimited
	}
	return v
}

func (o *Options) config() config {
	if o == nil {
		o = &Options{}
	}
	c := config{
		batchItems:    limit(o.BatchItemLimit, 1000),
		batchBytes:    limit(o.BatchResponseMaxBytes, 25_000_000),
		maxMessage:    limit(o.MaxMessageBytes, 32<<20),
		maxConcurrent: limit(o.MaxConcurrentCalls, 64),
		maxInFlight:   limit(o.MaxRequestBytesInFlight, 128<<20),
		maxMethodName: limit(o.MaxMethodNameLength, 2048),
		callTimeout:   max(o.CallTimeout, 0),
		stopTimeout:   o.StopTimeout,
		log:           o.Logger,
		subLimits:     o.Subscriptions.Resolved(),
		maxPushBytes:  limit(o.MaxQueuedNotificationBytes, 256<<20),
		inline:        defaultInline,
		handler:       chain(o.Middleware),
		hooks:         o.Hooks,
		maxCallbacks:  limit(o.MaxCallbacks, 16),
		maxStreams:    limit(o.MaxStreams, 16),
		streamBuffer:  max(o.StreamBuffer, 0),
	}
	switch {
	case o.CallbackTimeout == 0:
		c.callbackTimeout = DefaultCallbackTimeout
	case o.CallbackTimeout > 0:
		c.callbackTimeout = o.CallbackTimeout
	}
	switch o.CancelMethod {
	case "-":
	case "":
		c.cancelQuoted = wire.AppendString(nil, DefaultCancelMethod)
	default:
		c.cancelQuoted = wire.AppendString(nil, o.CancelMethod)
	}
	if c.streamBuffer == 0 {
		c.streamBuffer = 16
	}
	if c.stopTimeout <= 0 {
		c.stopTimeout = 5 * time.Second
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.name, c.version = documentInfo(o.Name, o.Version)
	return c
}
