package wsrpc_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// recvTimeout bounds every wait for a message in these tests.
const recvTimeout = 5 * time.Second

// serve serves srv over WebSocket on 127.0.0.1 and returns the ws:// URL. The HTTP server is
// closed when the test ends, before srv is stopped (rpctest.NewServer's cleanup), which closes
// the hijacked connections.
func serve(t testing.TB, srv *rpc.Server, opts *wsrpc.Options) string {
	t.Helper()
	ts := httptest.NewServer(wsrpc.NewHandler(srv, opts))
	t.Cleanup(ts.Close)
	return wsURL(ts)
}

func wsURL(ts *httptest.Server) string { return "ws" + strings.TrimPrefix(ts.URL, "http") }

// dialRaw opens a plain gorilla/websocket connection, closed when the test ends.
func dialRaw(t testing.TB, url string, d *websocket.Dialer, header http.Header) *wire {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{}
	}
	ws, resp, err := d.Dial(url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP status %d)", url, err, status)
	}
	w := &wire{ws: ws, resp: resp}
	t.Cleanup(func() { ws.Close() })
	return w
}

// wire is a raw WebSocket connection as an rpctest.Wire: Send writes one text frame, Recv
// reads one message and trims its trailing newline.
type wire struct {
	ws   *websocket.Conn
	resp *http.Response // the handshake response
}

func (w *wire) Send(msg []byte) error { return w.ws.WriteMessage(websocket.TextMessage, msg) }

func (w *wire) Recv(timeout time.Duration) ([]byte, error) {
	w.ws.SetReadDeadline(time.Now().Add(timeout))
	defer w.ws.SetReadDeadline(time.Time{})
	_, msg, err := w.ws.ReadMessage()
	return bytes.TrimSuffix(msg, []byte("\n")), err
}

func (w *wire) Close() error { return w.ws.Close() }

// expect receives one message and compares it with want.
func (w *wire) expect(t testing.TB, want string) {
	t.Helper()
	got, err := w.Recv(recvTimeout)
	if err != nil || string(got) != want {
		t.Fatalf("\n got: %s (%v)\nwant: %s", got, err, want)
	}
}

// closeCode reads until the connection fails and returns the close code received (-1 if the
// connection ended without a close frame or a read error other than a close was seen first).
func (w *wire) closeCode(t testing.TB) int {
	t.Helper()
	w.ws.SetReadDeadline(time.Now().Add(recvTimeout))
	for {
		_, _, err := w.ws.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		t.Logf("read error without a close frame: %v", err)
		return -1
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
