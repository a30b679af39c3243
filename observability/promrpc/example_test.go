package promrpc_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/polyrpc/polyrpc/observability/promrpc"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

type calc struct{}

func (calc) Add(a, b int) int { return a + b }

func Example() {
	m := promrpc.New(nil)
	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{m.Middleware()}, Hooks: m.Hooks()})
	defer srv.Stop()
	srv.Register("calc", calc{})
	m.Attach(srv, rpc.TransportInProc)
	reg := prometheus.NewRegistry() // a program registers with prometheus.DefaultRegisterer
	reg.MustRegister(m)             // and serves promhttp.Handler() at /metrics

	c, _ := inproc.Dial(srv)
	defer c.Close()
	var sum int
	c.Call(context.Background(), &sum, "calc_add", 1, 2)
	c.Call(context.Background(), &sum, "calc_mul", 1, 2)

	// Attach created the series of every registered method, at 0.
	expected := `
# HELP polyrpc_server_handled_total JSON-RPC calls finished on the server, by code ("ok" or the JSON-RPC error code).
# TYPE polyrpc_server_handled_total counter
polyrpc_server_handled_total{code="-32601",method="_OTHER",transport="inproc"} 1
polyrpc_server_handled_total{code="ok",method="_OTHER",transport="inproc"} 0
polyrpc_server_handled_total{code="ok",method="calc_add",transport="inproc"} 1
polyrpc_server_handled_total{code="ok",method="rpc.discover",transport="inproc"} 0
polyrpc_server_handled_total{code="ok",method="rpc_modules",transport="inproc"} 0
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(expected), "polyrpc_server_handled_total")
	fmt.Println("handled as expected:", err == nil)
	// Output:
	// handled as expected: true
}
