package httprpc_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// serve starts a test HTTP server for h, closed when the test ends.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// newServer returns a reference test server and an HTTP endpoint serving it.
func newServer(t testing.TB, rpcOpts *rpc.Options, opts *httprpc.Options) (*rpc.Server, *httptest.Server) {
	t.Helper()
	srv := rpctest.NewServer(t, rpcOpts)
	return srv, serve(t, httprpc.NewHandler(srv, opts))
}

func TestTranscripts(t *testing.T) {
	for _, dir := range []string{"../../rpc/testdata", "../../rpc/testdata/push-http"} {
		rpctest.RunTranscripts(t, dir, func(t testing.TB) rpctest.Wire {
			_, ts := newServer(t, nil, nil)
			return rpctest.NewHTTPWire(ts.URL)
		})
	}
	rpctest.RunTranscripts(t, "../../rpc/testdata/limits", func(t testing.TB) rpctest.Wire {
		_, ts := newServer(t, rpctest.LimitsOptions(), nil)
		return rpctest.NewHTTPWire(ts.URL)
	})
}
