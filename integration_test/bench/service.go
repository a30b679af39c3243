// Package bench compares polyrpc with go-ethereum's rpc package (in process and over HTTP,
// WebSocket and IPC, against raw ceilings), and encoding/json with
// github.com/go-json-experiment/json, on the work a JSON-RPC server does per call; see
// README.md. It is a module of its own so that the main module never depends on go-ethereum.
// Its benchmarks and tests live in its _test.go files; this file holds the service both
// libraries host on the network, outside them so that polyrpc-gen can read it.
package bench

//go:generate go run github.com/polyrpc/polyrpc/cmd/polyrpc-gen -type netService

// netService is the service both libraries host for the network benchmarks, as namespace
// "test": the shape of the service in the reference measurements. polyrpc serves it with the
// metadata polyrpc-gen writes (netservice_rpcmeta.go), as a project built on polyrpc would;
// go-ethereum, which has no generator, through reflection.
type netService struct{}

// Ping answers "pong".
func (netService) Ping() string { return "pong" }

// EchoAny returns its argument: a JSON value decoded into any and encoded back.
func (netService) EchoAny(v any) any { return v }
