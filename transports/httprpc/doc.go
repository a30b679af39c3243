/*
Package httprpc serves a [rpc.Server] over HTTP POST and dials it, wire-compatible with
go-ethereum's HTTP endpoint and clients.

# Server

[NewHandler] returns an http.Handler. Each request is one JSON-RPC message (a call, a
notification or a batch), handled by its own session of the server:

  - POST with Content-Type application/json (or application/json-rpc, application/jsonrequest;
    parameters such as charset are allowed) is JSON-RPC. The answer is 200 with Content-Type
    application/json and an exact Content-Length, the answer's JSON followed by a newline.
    JSON-RPC errors are 200 too. A notification, or a batch of notifications only, is 200 with
    an empty body and Content-Length: 0.
  - Another or a missing Content-Type is 415.
  - GET without a body and without a query is a health probe: 200 with an empty body, as in
    go-ethereum. A GET with a body or a query is treated as a POST.
  - OPTIONS is 204 with Allow: POST, GET, OPTIONS, unless CORS answers it as a preflight.
  - Any other method is 405 with the same Allow header.
  - A body over Options.MaxBodyBytes (default 5 MiB) is 413, whether its Content-Length says
    so up front or a chunked body grows past it.
  - A Host header that fails the virtual-host check (Options.VirtualHosts, default
    "localhost"; an empty Host and IP literals always pass; the port is ignored, case too) is
    403 "invalid host specified".
  - While the server is stopping, requests get 503 with a -32006 error body.

Refusals other than 503 have a short text/plain body.

# Request-bytes budget

A request's bytes are reserved from the server-wide budget (rpc.Options.MaxRequestBytesInFlight,
see [rpc.Budget]) before its body is read when its length is declared, and as it
is read, a chunk of at most 32 KiB at a time, when it is chunked. They are released once the
answer has been written. When the budget cannot cover a request, it is refused at once with
503, Retry-After: 1 and the body

	{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"server busy: too many request bytes in flight, retry later"}}

which is the -32005 error the other transports send. The connection stays open (net/http
discards an unread body of up to 256 KiB to keep it; a larger one closes it).

# Timeouts

[NewHTTPServer] builds an http.Server with [Timeouts]; [DefaultTimeouts] are go-ethereum's
(read header 30 s, read 30 s, write 30 s, idle 120 s), and a timeout below one second is
replaced by its default, as go-ethereum's CheckTimeouts does.

An HTTP server that reaches its write timeout drops the connection without an answer. To avoid
that, the calls of each request get a deadline of the write timeout less a margin, counted
from when the handler starts. The margin is a quarter of the timeout, at least 100 ms
(go-ethereum's fixed margin) and at most 2 s, and never more than half the timeout: with the
default 30 s, calls are answered -32002 at 28 s, early enough that a loaded machine still gets
the answer out before the connection's deadline. The write timeout is
the shorter of Options.WriteTimeout (default 30 s) and the WriteTimeout of the http.Server
serving the request. A call still running at the deadline is answered -32002 "request timed
out" (HTTP 200); in a batch, items already answered keep their answers and the rest get
-32002. The method's context is cancelled at the deadline. rpc.Options.CallTimeout applies as
well when it is shorter.

Calls run on the handler's goroutine (no hand-off to another goroutine per request). The answer
is sent as soon as the session writes it: at a deadline that is from the session's timer while
a method that ignores its context still holds the handler's goroutine, which returns (and frees
the keep-alive connection for the client's next request) once the method does.

# Browsers

With Options.CORSOrigins set, answers to an allowed Origin carry Access-Control-Allow-Origin
(the origin, or * when "*" is listed) and Vary: Origin. A preflight (OPTIONS with
Access-Control-Request-Method) from an allowed origin for POST, GET or OPTIONS is answered 204
with Access-Control-Allow-Methods: POST, GET, OPTIONS, the requested headers echoed in
Access-Control-Allow-Headers and Access-Control-Max-Age: 600; other preflights get 204 without
CORS headers, which browsers take as a refusal.

# Compression

When the request's Accept-Encoding lists gzip and the answer is not empty, the answer is
gzip-compressed (Content-Encoding: gzip, with the compressed Content-Length). Non-empty
answers carry Vary: Accept-Encoding.

# Server-Sent Events

A POST whose Accept header lists text/event-stream is answered 200 with Content-Type
text/event-stream, and its call runs in a session that can subscribe: the call's answer is
the first event, and each notification of the subscription it creates one more event, its
data the notification's JSON (one line) and, for a notification with a position (a Feed's),
its id EPOCH:OFFSET; the position notices carry the same kind of id. A comment ": keep-alive"
follows every Options.SSEKeepAlive (default 15 s) of silence. The response ends when the
client goes, when the server stops (or closes the session: a client that does not read), and,
at the next keep-alive, once the session has no subscription left; a call that creates no
subscription (another method, an error) is one event and the end. The server's write
timeout does not apply to an event stream.

A GET with Accept: text/event-stream is the same call, taken from the query: method, params
(JSON, by position or by name) and id (JSON, default 1); browsers' EventSource, which can
only GET, uses it. A request with Last-Event-ID EPOCH:OFFSET (EventSource sends the last id it
received when it reconnects) resumes: the position {"epoch":EPOCH,"offset":OFFSET} becomes the
call's last positional parameter (replacing one already there), which a subscription method
taking a trailing *subscriptions.Position uses to resume after it.

# Authentication

With Options.Authenticator set, each request is authenticated after the checks above (host,
CORS, method, content type, declared length) and before its body is read: the authenticator
sees the request's headers. A request it refuses gets 401 with WWW-Authenticate: Bearer
(error="invalid_token" when a bearer token was given) and a short text body; no session is
made for it. A token in the URL's query is never taken over HTTP POST (only a WebSocket upgrade
takes one). The principal it returns is the request's session's (rpc.PrincipalFromContext).

A client cancels a call by closing its request: the call's context is cancelled. A middleware
that asks to close the connection (rpc.Outcome.Close) gets the answer sent with Connection:
close.

# Namespaces and peers

Options.Namespaces limits the callable namespaces (go-ethereum's --http.api); other methods
answer -32601. Subscriptions are not available over plain HTTP (-32601 "notifications not
supported"), only as event streams. Methods see the caller with [rpc.PeerInfoFromContext]: Transport "http",
RemoteAddr, Host, Origin and UserAgent from the request.

# Client

[Dial] returns an [rpc.Client] that POSTs each call, batch or notification with Content-Type
application/json and any extra headers of [ClientOptions]. A response with a status outside
2xx fails the call with an [*HTTPError]; JSON-RPC errors come back as *rpc.Error as on every
transport. A notification returns once the server has run it (its answer is an empty 200).
Response bodies are limited to 128 MiB by default. Without ClientOptions.HTTPClient, all
clients share one HTTP client with keep-alive connections; Close ends the client's calls in
flight and closes the idle connections.
*/
package httprpc
