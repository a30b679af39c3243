// Package otelrpc traces the calls of an rpc.Server with OpenTelemetry: one server span per
// call, named after the method, with the semantic conventions' attributes for JSON-RPC. It is
// a module of its own, so that programs which import package rpc do not inherit OpenTelemetry;
// a program opts in by importing it.
//
// # Semantic conventions
//
// The spans follow semantic conventions v1.43.0 (go.opentelemetry.io/otel/semconv/v1.43.0, the
// newest that go.opentelemetry.io/otel v1.47.0 ships): the RPC names that v1.39 introduced and
// that the v1.45 RPC conventions declare stable, rather than those of v1.38 and before
// (rpc.system, rpc.service, rpc.jsonrpc.*), which are deprecated. Later releases renamed
// rpc.response.status_code to rpc.status_code; this package will follow when the Go module
// ships them. Each span has:
//
//   - name: the method as registered (rpc.method), or _OTHER for a name the server does not
//     offer on the connection (the name the client sent is not kept: clients choose it);
//   - kind: server;
//   - rpc.system.name "jsonrpc", rpc.method, jsonrpc.protocol.version "2.0";
//   - jsonrpc.request.id: the request id (a string id unquoted), absent for a notification;
//   - on an error answer: rpc.response.status_code and error.type, both the error code as a
//     string ("-32602"), and the span's status Error with the error's message;
//   - network.transport (tcp for HTTP and WebSocket, unix or pipe for IPC), network.peer.address
//     and network.peer.port where the transport has them, and polyrpc.transport: inproc, ipc,
//     http or ws;
//   - polyrpc.call.kind for a notification, subscribe or unsubscribe call.
//
// A batch as a whole gets no span of its own: each of its items gets one.
//
// # Propagation
//
// The parent of a call's span is the W3C trace context (traceparent, tracestate) of the
// request that carried it: the HTTP request's headers, or the WebSocket upgrade request's for
// every call of that connection. An IPC connection carries none, and an in-process call's
// context takes only its caller's cancellation, not its values: their spans are roots. Give [Tracing.Context] to the transports (httprpc.Options.Context,
// wsrpc.Options.Context) to take it from the headers, and [Tracing.Header] to Go clients
// (httprpc.ClientOptions.HeaderFunc, wsrpc.DialOptions.HeaderFunc, transports.Options.HeaderFunc)
// to send their context's trace with each HTTP request and WebSocket handshake.
package otelrpc

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyrpc/polyrpc/rpc"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/polyrpc/polyrpc/observability/otelrpc"

// Options configures [New]. A nil *Options gives the defaults.
type Options struct {
	// TracerProvider makes the tracer. nil: otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagator reads and writes the trace context of requests. nil:
	// otel.GetTextMapPropagator() (set it to propagation.TraceContext{} for W3C traceparent).
	Propagator propagation.TextMapPropagator
}

// Tracing makes the spans of a server's calls and carries traces over HTTP and WebSocket.
type Tracing struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// New returns the tracing of one server (or several).
func New(opts *Options) *Tracing {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TracerProvider == nil {
		o.TracerProvider = otel.GetTracerProvider()
	}
	if o.Propagator == nil {
		o.Propagator = otel.GetTextMapPropagator()
	}
	return &Tracing{
		tracer: o.TracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		prop:   o.Propagator,
	}
}

// Context returns r's context with the trace context of r's headers, for
// httprpc.Options.Context and wsrpc.Options.Context.
func (t *Tracing) Context(r *http.Request) context.Context {
	return t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
}

// Header adds the trace context of ctx to h, for the clients' HeaderFunc.
func (t *Tracing) Header(ctx context.Context, h http.Header) {
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// The attributes of polyrpc's own.
const (
	transportKey = attribute.Key("polyrpc.transport")
	kindKey      = attribute.Key("polyrpc.call.kind")
)

// Middleware returns the middleware that makes a span for each call; the context it passes on
// holds the span, so that the method's own spans are its children.
func (t *Tracing) Middleware() rpc.Middleware {
	return func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			if c.Kind == rpc.KindBatch {
				return next(ctx, c)
			}
			attrs := make([]attribute.KeyValue, 0, 10)
			attrs = append(attrs,
				semconv.RPCSystemNameJSONRPC,
				semconv.RPCMethod(c.Method.Name),
				semconv.JSONRPCProtocolVersion("2.0"),
				transportKey.String(c.Conn.Peer.Transport))
			if id := requestID(c.ID); id != "" {
				attrs = append(attrs, semconv.JSONRPCRequestID(id))
			}
			if c.Kind != rpc.KindCall {
				attrs = append(attrs, kindKey.String(c.Kind.String()))
			}
			attrs = appendPeer(attrs, &c.Conn.Peer)
			ctx, span := t.tracer.Start(ctx, c.Method.Name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
			o := next(ctx, c)
			if o.Err != nil {
				code := strconv.Itoa(o.Err.Code)
				span.SetAttributes(semconv.RPCResponseStatusCode(code), semconv.ErrorTypeKey.String(code))
				span.SetStatus(codes.Error, o.Err.Message)
			}
			span.End()
			return o
		}
	}
}

// requestID is id (raw JSON) as the attribute's string: a string id without its quotes; ""
// for none or null.
func requestID(id []byte) string {
	s := string(id)
	switch {
	case s == "" || s == "null":
		return ""
	case len(s) >= 2 && s[0] == '"' && !strings.ContainsRune(s, '\\'):
		return s[1 : len(s)-1]
	case s[0] == '"':
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
	}
	return s
}

// appendPeer appends the network attributes of peer.
func appendPeer(attrs []attribute.KeyValue, peer *rpc.PeerInfo) []attribute.KeyValue {
	switch peer.Transport {
	case rpc.TransportHTTP, rpc.TransportWS:
		attrs = append(attrs, semconv.NetworkTransportTCP)
	case rpc.TransportIPC:
		if strings.HasPrefix(peer.RemoteAddr, `\\.\pipe\`) {
			attrs = append(attrs, semconv.NetworkTransportPipe)
		} else {
			attrs = append(attrs, semconv.NetworkTransportUnix)
		}
		return attrs
	default:
		return attrs
	}
	if host, port, err := net.SplitHostPort(peer.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.NetworkPeerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.NetworkPeerPort(p))
		}
	}
	return attrs
}
