package httprpc_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// wire POSTs each message to a test server and queues every non-empty answer.
type wire struct {
	url    string
	client *http.Client
	inbox  *rpctest.Inbox
}

func (w *wire) Send(msg []byte) error {
	resp, err := w.client.Post(w.url, "application/json", bytes.NewReader(msg))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s: %s", resp.Status, body)
	}
	if len(body) > 0 {
		w.inbox.Put(body)
	}
	return nil
}

func (w *wire) Recv(d time.Duration) ([]byte, error) { return w.inbox.Recv(d) }

func (w *wire) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

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
	rpctest.RunTranscripts(t, "../../rpc/testdata", func(t testing.TB) rpctest.Wire {
		_, ts := newServer(t, nil, nil)
		return &wire{url: ts.URL, client: &http.Client{Transport: &http.Transport{}}, inbox: rpctest.NewInbox()}
	})
}
