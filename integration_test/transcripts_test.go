package integration_test

import (
	"testing"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// transcriptDir holds the conformance transcripts (relative to this package's directory, where
// go test runs it).
const transcriptDir = "../rpc/testdata"

// TestTranscripts replays every transcript of rpc/testdata against the binary over each
// transport. Each transcript gets a server of its own: batch.txt reads the counter that
// test_incr notifications (notifications.txt, batch.txt) advance, so transcripts sharing a
// server would disturb each other. The binary runs without its built-in services
// (--dev.nobuiltins), so that rpc_modules lists the reference service's namespaces only.
func TestTranscripts(t *testing.T) {
	t.Run("HTTP", func(t *testing.T) {
		for _, dir := range []string{transcriptDir, transcriptDir + "/push-http"} {
			rpctest.RunTranscripts(t, dir, func(t testing.TB) rpctest.Wire {
				w := rpctest.NewHTTPWire(startServer(t, "--dev.nobuiltins").HTTP)
				t.Cleanup(func() { w.Close() })
				return w
			})
		}
	})
	t.Run("WebSocket", func(t *testing.T) {
		for _, dir := range []string{transcriptDir, transcriptDir + "/push", transcriptDir + "/twoway"} {
			rpctest.RunTranscripts(t, dir, func(t testing.TB) rpctest.Wire {
				return dialWS(t, startServer(t, "--dev.nobuiltins").WS)
			})
		}
	})
	t.Run("IPC", func(t *testing.T) {
		for _, dir := range []string{transcriptDir, transcriptDir + "/push", transcriptDir + "/twoway"} {
			rpctest.RunTranscripts(t, dir, func(t testing.TB) rpctest.Wire {
				s := startServer(t, "--dev.nobuiltins")
				c := s.dialIPC(t)
				t.Cleanup(func() { c.Close() })
				return rpctest.NewStreamWire(c)
			})
		}
	})
}
