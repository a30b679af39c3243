package wsrpc

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// Defaults and fixed timings. The defaults are go-ethereum's where it has one.
const (
	// defaultReadLimit bounds one incoming message (go-ethereum's wsDefaultReadLimit).
	defaultReadLimit = 32 << 20
	// defaultPingInterval is how long a connection may receive nothing before a ping is sent.
	defaultPingInterval = 30 * time.Second
	// defaultPongTimeout is how long a ping may go unanswered (nothing at all received, and the
	// reader waiting for input) before the connection is closed.
	defaultPongTimeout = 30 * time.Second
	// defaultWriteTimeout bounds the write of one message.
	defaultWriteTimeout = 10 * time.Second

	// controlWriteTimeout bounds the write of a ping or a pong, and of the close frame sent
	// after a protocol error.
	controlWriteTimeout = time.Second
	// closeFrameTimeout bounds the write of the close frame sent by Close. It is short because
	// rpc.Server.Stop closes connections one after another: a peer that stopped reading must
	// not hold up the others. A healthy connection takes microseconds.
	closeFrameTimeout = 100 * time.Millisecond
	// closeLinger is how long, after closing a connection because of a protocol error (a message
	// over the read limit), input is still read and discarded so that the close frame reaches a
	// peer that is still sending instead of being lost to a TCP reset.
	closeLinger = time.Second
	// handshakeTimeout bounds the opening handshake of Dial; the context may end it sooner.
	// (The handler bounds the write of its handshake response by Options.WriteTimeout.)
	handshakeTimeout = 30 * time.Second
	// smallChunk is the size of the first buffer a message is read into, and readChunk the
	// size of the following ones. Bytes are charged to the server's request budget as each
	// read returns, so a connection never holds more than readChunk bytes of a message that
	// the budget has not accepted.
	smallChunk = 4 << 10
	readChunk  = 64 << 10
	// minCompressSize is the smallest outgoing message that is compressed on a connection that
	// negotiated permessage-deflate; deflating a short answer costs more than it saves.
	minCompressSize = 512
	// bufferSize is the size of the pooled write buffers, and of the client's read buffer.
	bufferSize = 4096
)

// Options configures [NewHandler]. A nil *Options, and the zero value of each field, give the
// default documented on the field.
type Options struct {
	// Origins lists the browser origins allowed to connect (go-ethereum's --ws.origins).
	// Requests without an Origin header are always allowed. Nil or empty: only same-host
	// origins, whose host and port equal the request's Host. "*" allows every origin. Other
	// entries are "scheme://host:port" patterns in which a part left out matches anything, as
	// in go-ethereum: "localhost" allows localhost with any scheme and port, "http://localhost"
	// any port over http. A refused origin gets 403 before the upgrade. See the package
	// documentation.
	Origins []string

	// Namespaces, when non-nil, lists the namespaces callable over this handler (go-ethereum's
	// --ws.api); see rpc.ConnOptions.
	Namespaces []string

	// ReadLimit bounds one incoming message, after decompression. A larger message closes the
	// connection with code 1009 (message too big). Default 32 MiB; negative: no limit.
	ReadLimit int64

	// PingInterval is how long the connection may receive nothing before the server sends a
	// ping. Default 30 s; negative: never ping.
	PingInterval time.Duration

	// PongTimeout is how long after a ping the server waits for a pong, or for anything else
	// from the peer, before it closes the connection. Default 30 s.
	PongTimeout time.Duration

	// WriteTimeout bounds the write of one message (of a burst of them, written at once); a
	// connection whose write times out is closed. A write that starts while the deadline set
	// for an earlier one still leaves half the timeout keeps that deadline. Default 10 s.
	WriteTimeout time.Duration

	// DisableCompression turns off permessage-deflate. By default it is negotiated with clients
	// that offer it (the zero value of a bool cannot mean "on", hence the negative name).
	DisableCompression bool

	// Authenticator, when set, runs for each upgrade request before the upgrade, with the
	// request's headers and its "token" query parameter (browsers cannot set headers on a
	// WebSocket: ws://host/?token=…). A request it refuses gets 401 with a WWW-Authenticate:
	// Bearer challenge, before the upgrade; the principal it returns is the connection's
	// (rpc.ConnOptions.Principal), and the connection is closed (code 1008, reason
	// "authentication expired") when the expiry it returns passes. nil: no authentication.
	Authenticator rpc.Authenticator
}

// DialOptions configures [Dial]. A nil *DialOptions, and the zero value of each field, give the
// default documented on the field.
type DialOptions struct {
	// Header is sent with the opening handshake (an Authorization header, for example). It
	// takes precedence over credentials in the URL.
	Header http.Header

	// Origin, when set, is sent as the Origin header of the handshake.
	Origin string

	// ReadLimit bounds one incoming message, after decompression; a larger message closes the
	// connection with code 1009 and fails the client. Default 32 MiB; negative: no limit.
	ReadLimit int64

	// Compression offers permessage-deflate to the server. Off by default, as in go-ethereum:
	// on small JSON messages it costs more CPU than the bandwidth it saves.
	Compression bool

	// PingInterval is how long the connection may receive nothing before the client sends a
	// ping. Default 30 s; negative: never ping.
	PingInterval time.Duration

	// PongTimeout is how long after a ping the client waits for a pong, or anything else,
	// before it closes the connection and fails its calls. Default 30 s.
	PongTimeout time.Duration

	// WriteTimeout bounds the write of one message. Default 10 s.
	WriteTimeout time.Duration

	// TLSClientConfig is the TLS configuration for wss:// URLs. Default: the system's roots.
	TLSClientConfig *tls.Config

	// HeaderFunc, when set, is called for each opening handshake with the context of the
	// dial (Dial's ctx; a reconnection's own) and the handshake's headers, which it may add
	// to: a trace propagator's traceparent, for example.
	HeaderFunc func(ctx context.Context, h http.Header)

	// Reconnect, when set, makes the client redial the URL (with these options) whenever the
	// connection fails, and resume its subscriptions: see rpc.NewReconnectingClient. Nil: the
	// client fails once its connection does.
	Reconnect *rpc.ReconnectOptions
}

// connConfig is what a connection needs of either Options or DialOptions, defaults applied.
type connConfig struct {
	readLimit    int64 // 0: no limit
	pingInterval time.Duration
	pongTimeout  time.Duration
	writeTimeout time.Duration
}

func newConnConfig(readLimit int64, ping, pong, write time.Duration) connConfig {
	c := connConfig{readLimit: readLimit, pingInterval: ping, pongTimeout: pong, writeTimeout: write}
	switch {
	case c.readLimit == 0:
		c.readLimit = defaultReadLimit
	case c.readLimit < 0:
		c.readLimit = 0
	}
	if c.pingInterval == 0 {
		c.pingInterval = defaultPingInterval
	}
	if c.pongTimeout <= 0 {
		c.pongTimeout = defaultPongTimeout
	}
	if c.writeTimeout <= 0 {
		c.writeTimeout = defaultWriteTimeout
	}
	return c
}

func (o *Options) connConfig() connConfig {
	if o == nil {
		o = &Options{}
	}
	return newConnConfig(o.ReadLimit, o.PingInterval, o.PongTimeout, o.WriteTimeout)
}

func (o *DialOptions) connConfig() connConfig {
	if o == nil {
		o = &DialOptions{}
	}
	return newConnConfig(o.ReadLimit, o.PingInterval, o.PongTimeout, o.WriteTimeout)
}
