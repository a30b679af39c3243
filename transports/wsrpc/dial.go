package wsrpc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
)

// Dial connects to a WebSocket JSON-RPC endpoint (a ws:// or wss:// URL) and returns a client
// over the connection; ctx bounds the opening handshake only. A nil opts gives the defaults.
//
// Credentials in the URL (ws://user:pass@host/) are sent as a Basic Authorization header and
// removed from the URL, as go-ethereum does, unless opts.Header has an Authorization header of
// its own. The proxy comes from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). A
// handshake the server refuses returns a [*HandshakeError] with the HTTP status.
//
// The client answers the server's pings and pings an idle server itself (see
// DialOptions.PingInterval); a server that stops answering fails the client's calls, or with
// DialOptions.Reconnect set, makes the client reconnect.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*rpc.Client, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	dial, err := dialer(rawURL, opts)
	if err != nil {
		return nil, err
	}
	if opts.Reconnect != nil {
		return rpc.NewReconnectingClient(ctx, dial, opts.Reconnect)
	}
	conn, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	return rpc.NewClient(conn), nil
}

// dialer checks rawURL and returns the function that opens a connection to it with opts.
func dialer(rawURL string, opts *DialOptions) (func(context.Context) (rpc.Conn, error), error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return nil, fmt.Errorf("wsrpc: invalid URL: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("wsrpc: unsupported URL scheme %q (want ws or wss)", u.Scheme)
	}
	header := opts.Header.Clone()
	if header == nil {
		header = make(http.Header)
	}
	if opts.Origin != "" {
		header.Set("Origin", opts.Origin)
	}
	if u.User != nil {
		if header.Get("Authorization") == "" {
			pass, _ := u.User.Password()
			auth := base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pass))
			header.Set("Authorization", "Basic "+auth)
		}
		u.User = nil
	}
	d := websocket.Dialer{
		Proxy:             http.ProxyFromEnvironment,
		TLSClientConfig:   opts.TLSClientConfig,
		HandshakeTimeout:  handshakeTimeout,
		ReadBufferSize:    bufferSize,
		WriteBufferSize:   bufferSize,
		WriteBufferPool:   writeBufferPool,
		EnableCompression: opts.Compression,
	}
	target, cfg, hf := u.String(), opts.connConfig(), opts.HeaderFunc
	return func(ctx context.Context) (rpc.Conn, error) {
		h := header
		if hf != nil {
			h = header.Clone()
			hf(ctx, h)
		}
		ws, resp, err := d.DialContext(ctx, target, h)
		if err != nil {
			if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
				return nil, &HandshakeError{URL: target, StatusCode: resp.StatusCode, Status: resp.Status}
			}
			return nil, fmt.Errorf("wsrpc: dial %s: %w", target, err)
		}
		return newConn(ws, cfg, nil, websocket.CloseNormalClosure, ""), nil
	}, nil
}

// HandshakeError is returned by [Dial] when the server answers the opening handshake with an
// HTTP status other than 101 Switching Protocols: 403 for a refused origin, 401 for missing
// credentials, 426 or 404 for an address that serves no WebSocket, for example.
type HandshakeError struct {
	URL        string // the URL dialled, without credentials
	StatusCode int    // the HTTP status code
	Status     string // the HTTP status line, such as "403 Forbidden"
}

// Error implements the error interface.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("wsrpc: websocket handshake with %s failed: HTTP status %s", e.URL, e.Status)
}

// Unwrap returns websocket.ErrBadHandshake.
func (e *HandshakeError) Unwrap() error { return websocket.ErrBadHandshake }
