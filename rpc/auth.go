package rpc

import (
	"context"
	"crypto/tls"
	"strings"
	"time"
)

// Authenticator decides who the client of a connection is, once per connection (an IPC
// connection, a WebSocket upgrade) or per HTTP request, before any of its calls. The
// transports run the one their options name: httprpc refuses a request it rejects with 401
// and a WWW-Authenticate header before reading its body, wsrpc refuses the upgrade with 401,
// ipc closes the connection; each reports the refusal to [Hooks].Refused as [RefusedAuth].
//
// Authenticate returns the principal, which methods read with [PrincipalFromContext] and
// middlewares in [Call].Conn, and which [WithPermission] checks when it is a [Permitter]; and
// when it expires, if ever: a connection (WebSocket, IPC) still open then is closed with
// [ReasonAuthExpired]. It returns an error to refuse the client. ctx ends with the request or
// when the transport stops.
//
// One implementation serves every transport: it sees the client through [Credentials], not
// through a transport's types.
type Authenticator interface {
	Authenticate(ctx context.Context, cred *Credentials) (principal any, expires time.Time, err error)
}

// AuthenticatorFunc is a function that is an [Authenticator].
type AuthenticatorFunc func(ctx context.Context, cred *Credentials) (principal any, expires time.Time, err error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, cred *Credentials) (any, time.Time, error) {
	return f(ctx, cred)
}

// Credentials is what a transport knows of a client that an [Authenticator] may check.
type Credentials struct {
	// Peer describes the client (Peer.Transport names the transport).
	Peer PeerInfo
	// Header holds the HTTP request's headers (HTTP, and the WebSocket upgrade), keyed as
	// net/http keys them (an http.Header converts to it); nil for IPC.
	Header map[string][]string
	// Token is the "token" query parameter of a WebSocket upgrade, for browsers, which cannot
	// set headers on a WebSocket; "" otherwise. Plain HTTP requests never fill it (a token in a
	// URL ends up in logs): such a request has only its headers.
	Token string
	// TLS is the state of the TLS connection an HTTPS request or a wss:// upgrade came on (its
	// PeerCertificates start with the client's verified certificate under mutual TLS); nil on
	// plain connections and IPC.
	TLS *tls.ConnectionState
	// Process identifies the process at the other end of an IPC connection, as the operating
	// system reports it (Linux, macOS); nil where it is not available (Windows named pipes,
	// other transports).
	Process *ProcessCred
}

// ProcessCred identifies the process at the other end of a local socket.
type ProcessCred struct {
	UID, GID int // its effective user and group ids
	PID      int // its process id; 0 when not known
}

// HeaderValue returns the first value of the header name (matched case-insensitively), or "".
func (c *Credentials) HeaderValue(name string) string {
	if v := c.Header[name]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c.Header {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}

// BearerToken returns the token of an "Authorization: Bearer TOKEN" header, or else the
// Token of a WebSocket upgrade, or "".
func (c *Credentials) BearerToken() string {
	if h := c.HeaderValue("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return c.Token
}

// PrincipalFromContext returns the principal that the authenticator of the connection a
// method is being called on returned ([ConnOptions].Principal), or nil.
func PrincipalFromContext(ctx context.Context) any {
	if ss := sessionFromContext(ctx); ss != nil {
		return ss.info.Principal
	}
	return nil
}
