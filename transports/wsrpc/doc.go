/*
Package wsrpc carries JSON-RPC 2.0 over WebSocket, wire-compatible with go-ethereum's WebSocket
endpoint and its clients. [NewHandler] serves an [rpc.Server] to WebSocket clients; [Dial]
returns an [rpc.Client] over a WebSocket connection.

	srv := rpc.NewServer(nil)
	srv.Register("calc", new(Calculator))
	http.Handle("/ws", wsrpc.NewHandler(srv, nil))

	client, err := wsrpc.Dial(ctx, "ws://127.0.0.1:8546/ws", nil)

With DialOptions.Reconnect set, the client dials again whenever the connection fails and
resumes its subscriptions (see [rpc.NewReconnectingClient]).

One address can serve HTTP POST and WebSocket, as go-ethereum's node does: route the requests
for which [IsUpgrade] is true to the WebSocket handler and the others to the HTTP handler. The
WebSocket handler alone answers a plain HTTP request with 426 Upgrade Required.

# Messages

Each WebSocket message carries one JSON value: a request, a notification or a batch. Text and
binary messages are both accepted. Each answer or notification is sent as one text message
holding one JSON value followed by '\n' (the newline is kept: go-ethereum's frames end with one
too, and every JSON parser skips it). Calls on one connection run concurrently and each answer is
sent as soon as it is ready, so a fast call sent after a slow one is answered first. A message
that is not valid JSON is answered -32700 and the connection stays usable.

A message larger than Options.ReadLimit (32 MiB by default, counted after decompression) closes
the connection with code 1009 (message too big), as go-ethereum does.

Every message read is charged, as it arrives, to the server's budget for request bytes in flight
(rpc.Options.MaxRequestBytesInFlight), in reads of at most 64 KiB, and given back when it has
been answered. When the budget refuses a message, the rest of it is read and discarded and the
server answers -32005 (server busy); the connection stays usable and the request can be retried.

# Origins

Browsers send an Origin header and let any page open a WebSocket to any address, so the handler
checks the origin before the upgrade and answers 403 to a refused one. Options.Origins is the
allowlist (go-ethereum's --ws.origins):

  - a request without an Origin header (or with an empty one) is always allowed: it does not
    come from a browser page, and a non-browser client could send any origin anyway;
  - nil or empty (the default): same-host origins only, those whose host and port equal the
    request's Host header (gorilla/websocket's default, and safer than go-ethereum's default of
    http://localhost and the machine's host name);
  - "*" allows every origin;
  - any other entry is matched as go-ethereum matches it: the entry and the origin are split
    into scheme, host and port, case-insensitively, and a part the entry leaves out matches
    anything. "http://localhost" allows http://localhost:8080 but not https://localhost;
    "localhost" allows both; "example.com:8443" any scheme on that port. Ports are compared as
    written: "https://example.com:443" does not match the origin "https://example.com". An entry
    that cannot be parsed matches nothing.

# Authentication

With Options.Authenticator set, each upgrade request is authenticated before the upgrade (after
the origin check): the authenticator sees the request's headers and its "token" query parameter
(ws://host/path?token=…, for browsers, which cannot set headers on a WebSocket). A request it
refuses gets 401 with WWW-Authenticate: Bearer (error="invalid_token" when a token was given).
The principal it returns is the connection's (rpc.PrincipalFromContext); when the expiry it
returns passes, the connection is closed with code 1008 and the reason "authentication
expired". Clients send credentials in DialOptions.Header.

A client may cancel a call it sent with the cancel notification (rpc.Options.CancelMethod,
rpc.Client.SetCancelMethod); a middleware that closes the connection (rpc.Outcome.Close) sends
code 1008 with its reason.

# Keepalive and timeouts

Either side pings a peer from which it has received nothing for PingInterval (30 s by default)
and closes the connection when nothing, not even a pong, arrives within PongTimeout (30 s) after
the ping; pings are answered with pongs. Unlike go-ethereum, which pings after 30 s without a
write, the idle time counts from the last frame received, since only that proves the peer alive.
A server whose calls hold every slot of the connection does not read it, so it cannot see a
pong; that time is not counted against the peer. Each message must be written within
WriteTimeout (10 s); a connection whose write fails or times out is closed. A call has no
timeout of its own here; see rpc.Options.CallTimeout.

# Closing

When the server stops ([rpc.Server.Stop] or Shutdown) each connection is sent a close frame with
code 1001 (going away, "server stopped") and its socket is closed; the client's Close sends 1000
(normal closure). A close frame from the peer is answered with the same code, as RFC 6455 asks,
and the connection ends: calls still running on the server are cancelled, since their answers
could no longer be sent. A connection ended by an error (a pong timeout, a failed write) is
closed without a close frame, except after a message over the read limit (1009) or a framing
error (1002, protocol error, sent by gorilla/websocket); after a 1009 the socket is also
half-closed and drained for up to a second so that the close frame is not lost to a TCP reset
while the peer is still sending.

# Compression

The handler negotiates permessage-deflate (RFC 7692, without context takeover) with clients that
offer it, unless Options.DisableCompression is set; go-ethereum never enables it. Only answers of
512 bytes or more are compressed: deflating a short answer costs more than it saves. [Dial]
offers compression only when DialOptions.Compression is set.

# Why gorilla/websocket

gorilla/websocket is what go-ethereum uses, so the handshake, the origin check, the close codes
and the compression it negotiates behave as go-ethereum's do and its clients see no difference.
Its concurrency contract (one reader, one writer, with WriteControl and Close allowed from any
goroutine) fits the rpc layer exactly: rpc.Server.ServeConn is the only reader, rpc's writer
serialises WriteMessage, and the keepalive and Close use only WriteControl and Close. It is
mature, has no dependencies of its own, and lets the handshake response reuse the buffers of the
hijacked HTTP connection. coder/websocket, the other candidate, puts a context on every call,
which the rpc layer's Conn interface has no use for.

The handler hijacks the HTTP connection, so http.Server.Shutdown does not close WebSocket
connections: stop the rpc.Server as well.
*/
package wsrpc
