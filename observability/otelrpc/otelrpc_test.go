package otelrpc

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
	"github.com/polyrpc/polyrpc/transports/ipc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// svc is the traced service; Nested starts a span of its own in the call's context.
type svc struct{ tracer trace.Tracer }

func (svc) Add(a, b int) int { return a + b }

func (svc) Fail() error { return errors.New("no") }

func (s svc) Nested(ctx context.Context) int {
	_, span := s.tracer.Start(ctx, "inner")
	span.End()
	return 1
}

// setup serves a traced server on every transport and returns the exporter of its spans, a
// client tracer, and a dialler per transport whose clients propagate their context's trace.
func setup(t *testing.T) (*tracetest.InMemoryExporter, trace.Tracer, map[string]func(ctx context.Context) *rpc.Client) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	tr := New(&Options{TracerProvider: tp, Propagator: propagation.TraceContext{}})
	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{tr.Middleware()}})
	if err := srv.Register("svc", svc{tp.Tracer("svc")}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(httprpc.NewHandler(srv, &httprpc.Options{Context: tr.Context}))
	ws := httptest.NewServer(wsrpc.NewHandler(srv, &wsrpc.Options{Context: tr.Context}))
	dir, err := os.MkdirTemp("", "otelrpc")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := ipc.Serve(srv, filepath.Join(dir, "s.ipc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		hs.Close()
		ws.Close()
		ep.Close()
		os.RemoveAll(dir)
	})
	dial := func(f func(ctx context.Context) (*rpc.Client, error)) func(ctx context.Context) *rpc.Client {
		return func(ctx context.Context) *rpc.Client {
			c, err := f(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
	}
	return exp, tp.Tracer("client"), map[string]func(ctx context.Context) *rpc.Client{
		rpc.TransportInProc: dial(func(context.Context) (*rpc.Client, error) { return inproc.Dial(srv) }),
		rpc.TransportIPC:    dial(func(ctx context.Context) (*rpc.Client, error) { return ipc.Dial(ctx, ep.Path()) }),
		rpc.TransportHTTP: dial(func(ctx context.Context) (*rpc.Client, error) {
			return httprpc.Dial(ctx, hs.URL, &httprpc.ClientOptions{HeaderFunc: tr.Header})
		}),
		rpc.TransportWS: dial(func(ctx context.Context) (*rpc.Client, error) {
			return wsrpc.Dial(ctx, "ws"+strings.TrimPrefix(ws.URL, "http"), &wsrpc.DialOptions{HeaderFunc: tr.Header})
		}),
	}
}

func attrs(s tracetest.SpanStub) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

// TestSpans: each call on each transport makes one server span named after its method, with
// the JSON-RPC attributes; its parent is the trace the request carried: the call's context
// over HTTP, the dial's over WebSocket, none over IPC and in-process.
func TestSpans(t *testing.T) {
	exp, client, dial := setup(t)
	for _, tc := range []struct {
		transport string
		network   string
		parent    string // "call", "dial" or "" (a root span)
	}{
		{rpc.TransportInProc, "", ""}, // the caller's context gives cancellation only
		{rpc.TransportIPC, "unix", ""},
		{rpc.TransportHTTP, "tcp", "call"},
		{rpc.TransportWS, "tcp", "dial"},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			exp.Reset()
			dctx, dspan := client.Start(context.Background(), "dial")
			c := dial[tc.transport](dctx)
			dspan.End()
			cctx, cspan := client.Start(context.Background(), "call")
			var n int
			if err := c.Call(cctx, &n, "svc_add", 1, 2); err != nil {
				t.Fatal(err)
			}
			if err := c.Call(cctx, nil, "svc_fail"); err == nil {
				t.Fatal("svc_fail did not fail")
			}
			if err := c.Call(cctx, nil, "svc_nope"); err == nil {
				t.Fatal("svc_nope did not fail")
			}
			cspan.End()
			want := map[string]trace.SpanContext{"call": cspan.SpanContext(), "dial": dspan.SpanContext()}[tc.parent]
			var server []tracetest.SpanStub
			for _, s := range exp.GetSpans() {
				if s.SpanKind == trace.SpanKindServer {
					server = append(server, s)
				}
			}
			if len(server) != 3 {
				t.Fatalf("%d server spans, want 3", len(server))
			}
			for i, s := range server {
				a := attrs(s)
				name := []string{"svc_add", "svc_fail", "_OTHER"}[i]
				if s.Name != name || a["rpc.method"] != name || a["rpc.system.name"] != "jsonrpc" ||
					a["jsonrpc.protocol.version"] != "2.0" || a["jsonrpc.request.id"] == "" ||
					a["polyrpc.transport"] != tc.transport || a["network.transport"] != tc.network {
					t.Errorf("span %d: %s %v", i, s.Name, a)
				}
				if tc.network == "tcp" && (a["network.peer.address"] != "127.0.0.1" || a["network.peer.port"] == "") {
					t.Errorf("span %s: peer %q:%q", s.Name, a["network.peer.address"], a["network.peer.port"])
				}
				if want.IsValid() {
					if s.Parent.SpanID() != want.SpanID() || s.SpanContext.TraceID() != want.TraceID() {
						t.Errorf("span %s: parent %v, want %v", s.Name, s.Parent.SpanID(), want.SpanID())
					}
				} else if s.Parent.IsValid() {
					t.Errorf("span %s has a parent %v, want none", s.Name, s.Parent.SpanID())
				}
			}
			if a := attrs(server[0]); a["rpc.response.status_code"] != "" || server[0].Status.Code != codes.Unset {
				t.Errorf("a success has an error: %v %v", a, server[0].Status)
			}
			for i, code := range []string{"-32000", "-32601"} {
				s := server[i+1]
				if a := attrs(s); a["rpc.response.status_code"] != code || a["error.type"] != code || s.Status.Code != codes.Error {
					t.Errorf("%s: %v %v, want code %s", s.Name, a, s.Status, code)
				}
			}
		})
	}
}

// TestNestedAndNotification: a method's own span is a child of its call's span; a notification's
// span has its kind and no request id.
func TestNestedAndNotification(t *testing.T) {
	exp, _, dial := setup(t)
	c := dial[rpc.TransportWS](context.Background())
	var n int
	if err := c.Call(context.Background(), &n, "svc_nested"); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(context.Background(), "svc_add", 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(context.Background(), &n, "svc_add", 1, 2); err != nil { // after the notification
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	inner, call := byName["inner"], byName["svc_nested"]
	if len(inner) != 1 || len(call) != 1 || inner[0].Parent.SpanID() != call[0].SpanContext.SpanID() {
		t.Fatalf("inner %v, call %v", inner, call)
	}
	adds := byName["svc_add"]
	if len(adds) != 2 {
		t.Fatalf("%d svc_add spans", len(adds))
	}
	// The notification may finish after the call that follows it: tell them apart by kind.
	kinds := map[string]int{}
	for _, s := range adds {
		a := attrs(s)
		kinds[a["polyrpc.call.kind"]]++
		if (a["polyrpc.call.kind"] == "notification") != (a["jsonrpc.request.id"] == "") {
			t.Errorf("span %v: a notification and only a notification has no request id", a)
		}
	}
	if kinds["notification"] != 1 || kinds[""] != 1 { // a plain call's span names no kind
		t.Errorf("svc_add spans by kind %v, want one notification and one call", kinds)
	}
}

func TestRequestID(t *testing.T) {
	for in, want := range map[string]string{``: "", `null`: "", `7`: "7", `"a"`: "a", `"a\"b"`: `a"b`, `-1.5`: "-1.5"} {
		if got := requestID([]byte(in)); got != want {
			t.Errorf("requestID(%s) = %q, want %q", in, got, want)
		}
	}
}
