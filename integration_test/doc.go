// Package integration_test holds the end-to-end tests of polyrpc: they build the polyrpc binary
// (cmd/polyrpc) once, start it as a process of its own on free ports with the reference test
// service (--dev.testservice) and the debug endpoints (--dev.debug), and talk to it over HTTP,
// WebSocket and IPC as any client would:
//
//   - the process's life: its endpoints, graceful shutdown on SIGTERM with exit status 0 and
//     the IPC socket removed, checked after every test (main_test.go, lifecycle_test.go);
//   - the wire transcripts of rpc/testdata, over each transport (transcripts_test.go);
//   - memory under floods of large requests, measured from /proc (flood_test.go);
//   - connections that vanish abruptly release their descriptors, goroutines, memory and
//     request-bytes budget (vanish_test.go);
//   - the subcommands: polyrpc call and its exit statuses, polyrpc console on piped input, bad
//     flags and config keys refused by name, --config, help (run_cli_test.go);
//   - the attach and in-process consoles driven through a pseudo-terminal: calls, tab
//     completion, live notifications under the prompt, Ctrl-C, history (run_console_pty_test.go,
//     Linux and macOS);
//   - the HTTP surface (the browser console's page and assets, /openrpc.json), admin over IPC
//     only, chat between two WebSocket clients, subscriptions ended on SIGTERM
//     (serve_http_test.go).
//
// Test files sort after doc.go: go list takes the package name from the first file, and a
// first file ending in _test.go would make it "integration".
//
// The package has no code of its own besides this file. The tests that read /proc skip where it
// is missing (outside Linux); all of them skip on Windows, which cannot send SIGTERM.
// integration_test/bench is a separate module (benchmarks against go-ethereum).
package integration_test
