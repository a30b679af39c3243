package rpc

import (
	"context"
	"time"
)

// Transport names used in [PeerInfo.Transport].
const (
	TransportInProc = "inproc"
	TransportIPC    = "ipc"
	TransportHTTP   = "http"
	TransportWS     = "ws"
)

// PeerInfo describes the client at the other end of a connection. Transports fill it in when they
// hand a connection to the server; methods read it with [PeerInfoFromContext].
type PeerInfo struct {
	Transport  string // one of the Transport* names
	RemoteAddr string // the remote network address, when there is one

	// Set by HTTP and WebSocket transports from the request.
	Host      string
	Origin    string
	UserAgent string
}

// ConnOptions describes a connection a transport hands to the server.
type ConnOptions struct {
	// Peer describes the client.
	Peer PeerInfo
	// Namespaces, when non-nil, lists the namespaces callable on this connection (go-ethereum's
	// --http.api). Other methods answer -32601. The rpc namespace is always callable.
	Namespaces []string
	// Deadline, when not zero, is when the session's calls must have been answered (an HTTP
	// request's, from its write timeout): calls still running then are answered -32002 and
	// their contexts are done. Unlike a deadline on NewSession's context, it needs no timer
	// of its own: the server keeps one timer for all of its sessions' deadlines.
	Deadline time.Time
	// Principal is who the transport's [Authenticator] found the client to be; methods read
	// it with [PrincipalFromContext], middlewares in [ConnInfo].Principal, and
	// [WithPermission] checks it. nil: not authenticated.
	Principal any
	// PrincipalExpires, when not zero, is when the principal expires: the session is closed
	// then with [ReasonAuthExpired] (told to a WebSocket peer in its close frame).
	PrincipalExpires time.Time
	// Context, when set, gives its values to the session's context under [Server.ServeConn]
	// and [Server.ServeStream] (NewSession takes its context as an argument), so that they
	// reach middlewares and methods: a trace taken from a WebSocket upgrade request, for
	// example. Its cancellation does not end the session.
	Context context.Context

	// The switches below describe the transport, not the peer; transports set them.

	// NoSubscriptions marks a request/response transport (HTTP POST) that cannot carry server
	// push: subscribe calls answer -32601 "notifications not supported".
	NoSubscriptions bool
	// ConcurrentWrites tells that the connection's writer takes concurrent WriteMessage calls
	// (the in-process transport, whose writer is the client): the server does not serialise
	// its writes, and each answer is written from the goroutine that made it.
	ConcurrentWrites bool
	// InlineTimedCalls makes [Session.Handle] run a message on the calling goroutine even when
	// a deadline applies, returning only once its calls have returned. At the deadline the
	// timeout answer is written from the server's timer while the call still runs, so the
	// writer must take that write concurrently with the Handle in progress and send whichever
	// answer comes first (HTTP, whose writer is the response). Without it, Handle runs a timed
	// message on a worker and returns at the deadline.
	InlineTimedCalls bool
	// TwoWay tells that the connection lasts beyond one message and that the client's answers
	// to the server's own requests come back through the session's Handle (the in-process
	// transport): methods can then call the client ([CallClient]) and clients can stream to
	// them ([Stream]). [Server.ServeConn] sets it; without it those answer with an error that
	// says the transport cannot (HTTP).
	TwoWay bool
}

type sessionKey struct{}

// PeerInfoFromContext returns the peer of the connection a method is being called on. It returns
// the zero PeerInfo for a context that did not come from the server.
func PeerInfoFromContext(ctx context.Context) PeerInfo {
	if ss, ok := ctx.Value(sessionKey{}).(*Session); ok {
		return ss.opts.Peer
	}
	return PeerInfo{}
}

func sessionFromContext(ctx context.Context) *Session {
	ss, _ := ctx.Value(sessionKey{}).(*Session)
	return ss
}
