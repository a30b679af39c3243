package wsrpc_test

import (
	"testing"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

var _ rpctest.Wire = (*wire)(nil)

// TestTranscripts replays the conformance transcripts of rpc/testdata over WebSocket, each
// transcript on its own server and connection.
func TestTranscripts(t *testing.T) {
	for _, dir := range []string{"../../rpc/testdata", "../../rpc/testdata/push", "../../rpc/testdata/twoway"} {
		rpctest.RunTranscripts(t, dir, func(t testing.TB) rpctest.Wire {
			return dialRaw(t, serve(t, rpctest.NewServer(t, nil), nil), nil, nil)
		})
	}
	rpctest.RunTranscripts(t, "../../rpc/testdata/limits", func(t testing.TB) rpctest.Wire {
		return dialRaw(t, serve(t, rpctest.NewServer(t, rpctest.LimitsOptions()), nil), nil, nil)
	})
}
