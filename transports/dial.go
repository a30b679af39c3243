// Package transports dials a JSON-RPC 2.0 server by endpoint, choosing the transport from the
// endpoint's form:
//
//	http://HOST/PATH, https://…   HTTP POST (package httprpc)
//	ws://HOST/PATH, wss://…       WebSocket (package wsrpc)
//	/path/to/socket, unix://PATH  IPC over a unix domain socket (package ipc)
//	\\.\pipe\NAME                 IPC over a Windows named pipe (package ipc)
//
// The server may be polyrpc or any other JSON-RPC 2.0 server, go-ethereum included. Each
// transport lives in a package of its own; this one only joins them.
package transports

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/ipc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// Options configures Dial. A nil *Options gives the defaults of each transport.
type Options struct {
	// Header is sent with every HTTP request and with the WebSocket handshake (an
	// Authorization header, for example).
	Header http.Header
	// TLSClientConfig is the TLS configuration of https:// and wss:// endpoints (a private
	// CA's roots, a client certificate for mutual TLS); for HTTP it is used only when
	// HTTPClient is nil. nil: the system's roots.
	TLSClientConfig *tls.Config
	// HTTPClient sends HTTP requests; nil uses a shared client with sane timeouts.
	HTTPClient *http.Client
	// Origin is the Origin header of the WebSocket handshake; empty sends none.
	Origin string
	// Reconnect, when set, makes a WebSocket or IPC client reconnect whenever its connection
	// fails, resuming its subscriptions (see rpc.NewReconnectingClient); HTTP, which connects
	// for each call, ignores it.
	Reconnect *rpc.ReconnectOptions
	// HeaderFunc, when set, adds headers to each HTTP request (given its call's context) and
	// to each WebSocket handshake (given the dial's context): a trace propagator's
	// traceparent, for example.
	HeaderFunc func(ctx context.Context, h http.Header)
}

// Dial connects to endpoint and returns a client for it. ctx bounds the connection attempt
// (for HTTP, which connects per call, it is not used). WebSocket and IPC clients multiplex
// concurrent calls on one connection; close the client when done.
func Dial(ctx context.Context, endpoint string, opts *Options) (*rpc.Client, error) {
	if opts == nil {
		opts = &Options{}
	}
	scheme, _, hasScheme := strings.Cut(endpoint, "://")
	switch {
	case !hasScheme || scheme == "unix":
		return ipc.DialWith(ctx, endpoint, &ipc.DialOptions{Reconnect: opts.Reconnect})
	case scheme == "http" || scheme == "https":
		return httprpc.Dial(ctx, endpoint, &httprpc.ClientOptions{HTTPClient: opts.HTTPClient, Header: opts.Header,
			HeaderFunc: opts.HeaderFunc, TLSClientConfig: opts.TLSClientConfig})
	case scheme == "ws" || scheme == "wss":
		return wsrpc.Dial(ctx, endpoint, &wsrpc.DialOptions{Header: opts.Header, HeaderFunc: opts.HeaderFunc,
			Origin: opts.Origin, TLSClientConfig: opts.TLSClientConfig, Reconnect: opts.Reconnect})
	}
	return nil, fmt.Errorf("transports: no transport for %q: use http://, https://, ws://, wss://, unix:// or a socket path", endpoint)
}
