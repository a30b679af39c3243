package otelrpc_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/polyrpc/polyrpc/observability/otelrpc"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

type calc struct{}

func (calc) Add(a, b int) int { return a + b }

func Example() {
	// A program exports its spans with an exporter of its choice (OTLP, for example); here
	// they are kept in memory.
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	tracing := otelrpc.New(&otelrpc.Options{TracerProvider: tp, Propagator: propagation.TraceContext{}})

	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{tracing.Middleware()}})
	defer srv.Stop()
	srv.Register("calc", calc{})
	hs := httptest.NewServer(httprpc.NewHandler(srv, &httprpc.Options{Context: tracing.Context}))
	defer hs.Close()

	// The client sends its context's trace in a traceparent header.
	c, _ := httprpc.Dial(context.Background(), hs.URL, &httprpc.ClientOptions{HeaderFunc: tracing.Header})
	defer c.Close()
	ctx, parent := tp.Tracer("client").Start(context.Background(), "client work")
	var sum int
	c.Call(ctx, &sum, "calc_add", 1, 2)
	parent.End()

	for _, s := range exp.GetSpans() {
		fmt.Println(s.Name, s.SpanKind, s.Parent.SpanID() == parent.SpanContext().SpanID())
	}
	// Output:
	// calc_add server true
	// client work internal false
}
