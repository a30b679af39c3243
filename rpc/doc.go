/*
Package rpc is the core of polyrpc: a JSON-RPC 2.0 server and client built around a reflection
registry of Go methods, wire-compatible with go-ethereum's rpc package and its clients.

The same [Server] serves every transport at once. A transport only moves bytes: the server
parses, validates and answers every message with one shared codec, so a request behaves the
same in-process, over IPC, HTTP or WebSocket (the packages under transports/).

	srv := rpc.NewServer(nil)
	if err := srv.Register("calc", new(Calculator)); err != nil {
		log.Fatal(err)
	}
	client, _ := inproc.Dial(srv) // or transports/{ipc,httprpc,wsrpc}
	var sum int
	err := client.Call(ctx, &sum, "calc_add", 1, 2)

# Methods

[Server.Register] exposes every exported method of the receiver that has a suitable shape:

  - an optional first argument of type context.Context;
  - any number of arguments that encoding/json can decode (no channels, funcs or complex
    numbers; not variadic);
  - results: nothing, error, one value, or a value and an error (error last).

Other methods are skipped; a receiver with none is an error (with a hint when its pointer type
has some). Registering again under the same namespace adds methods, replacing those of the same
name.

# Naming

A method is called as namespace_method: the namespace given at registration, an underscore, and
the Go method name with only its first letter lowercased, as go-ethereum names them:

	Add       → calc_add
	FailCoded → calc_failCoded
	ID        → calc_iD

Namespaces are ASCII letters and digits starting with a letter (an underscore in one would make
its methods unreachable). The namespace rpc is built in: rpc_modules returns the namespaces
callable on the caller's connection, each with version "1.0", as go-ethereum does.

# Params

Params by position (a JSON array) work for every method. Trailing arguments of pointer type may
be left out and are nil; an explicit null gives a pointer argument nil and any other argument its
zero value.

Params by name (a JSON object) work when the parameter names are known:

  - a method whose only argument is a struct takes the object's members as the struct's fields,
    matched as encoding/json matches them (json tags, case-insensitively);
  - otherwise names come from [WithParamNames] at registration (generated metadata may supply
    them too; explicit names win).

By name, an argument is required unless it is a pointer (or, for struct fields, tagged omitempty
or omitzero). An unknown name, a missing required argument, too many arguments or a value of the
wrong type is answered -32602 with a message naming the parameter and what was expected, for
example: invalid argument "a": want int, got string.

Arguments of a plain kind (string, bool, integers, floats) are decoded directly; all others with
encoding/json, so a type's UnmarshalJSON and UnmarshalText are honoured. An argument of type any
receives what encoding/json produces (float64 for numbers); declare json.Number or
json.RawMessage to keep numbers exact.

# Errors

A method's returned error becomes the error member of the answer:

  - an error with an ErrorCode() int method ([CodedError]) sets the code, and one with an
    ErrorData() any method ([DataError]) sets data; these are go-ethereum's interfaces, so its
    error types work unchanged;
  - any other error is -32000 with the error's text;
  - a panic is -32603 "method handler crashed", logged with its stack; the connection and the
    server keep serving;
  - a result that cannot be encoded is -32603 with the encoder's message.

The protocol errors follow the specification: -32700 (id null) for invalid JSON, -32600 for an
invalid request object, -32601 for an unknown method (or one not exposed on this connection),
-32602 for params that do not fit. polyrpc adds -32002 (call timeout), -32003 (batch answer too
large), -32005 (server busy), -32006 (server shutting down), -32012 (permission denied) and
-32800 (request cancelled). The client returns error answers as *[Error].

# Requests, notifications and batches

An answer sent to the server (an object with a result or an error and no method) is not a
request: it goes to the server's call to the client that waits for it, or is dropped, and is
never answered (see "Calls in both directions").

Every MUST of the JSON-RPC 2.0 specification holds on every transport. The id is echoed exactly
as sent (a string with its escapes, integers of any size, fractions, null); an id of another type
is -32600 with id null. A request without an id member is a notification: it runs and is never
answered; "id": null is a call and is answered. "params": null is taken as absent. A batch is
answered by one array holding the answers to its calls in request order (nothing at all for a
batch of notifications); an empty batch is a single -32600. Every answer is valid UTF-8 JSON on
one line followed by '\n', even when the request was not valid UTF-8.

# Concurrency and limits

Calls on one connection run concurrently, up to Options.MaxConcurrentCalls; each answer is
written as soon as it is ready. The items of a batch run one after another. Answers ready at the
same time are written together, with one flush. Limits on batch items, batch answer size,
message size and method name length are answered with clear errors; see [Options]. A message
refused before it is parsed (over MaxMessageBytes, or over the request-bytes budget) is answered
with the request's id when its first bytes show it (the "id" member usually precedes the large
one), and with id null otherwise (a batch, or an id further on).

A method's context carries the caller's [PeerInfo] ([PeerInfoFromContext]) and principal
([PrincipalFromContext]) and is cancelled when its connection is closed or fails (a read error
other than a clean end of input, or a failed write), when the server stops, at
Options.CallTimeout, and when the client cancels the call (see Cancellation). It is the call's:
it may end once the method has returned, so work that outlives the method needs a context of
its own. After a clean end of input (a client that half-closes its side) the calls already
received still run and are answered.

[Server.Stop] refuses new connections, cancels every call, waits for calls to return (bounded by
Options.StopTimeout) and closes every connection; [Server.Shutdown] first lets calls in flight
finish while refusing new ones.

# Middleware and hooks

Options.Middleware wraps every call of every transport ([Middleware]): each call and
notification, each subscribe and unsubscribe call, a batch as a whole and then each of its
items, the first middleware outermost. A middleware sees a [Call] (its kind, the registered
[MethodInfo] or the [MethodOther] marker, the raw id, the params' size, the batch's size, the
connection's [ConnInfo]) before the params are decoded, may refuse it with a JSON-RPC error or
close the connection ([Outcome].Close), and sees its [Outcome] (the error, the answer's size)
after it. A call costs nothing more when there are none. Options.Hooks ([Hooks]) tell observers
about connections opened and closed, requests refused before they became calls, and
subscriptions and their notifications.

# Authentication and permissions

A transport runs its [Authenticator] once per connection or HTTP request, before any call, with
the client's [Credentials]; the principal it returns is the connection's
([ConnOptions].Principal, [PrincipalFromContext]). [WithPermission], or a "Permission: NAME"
line in a method's doc comment read by cmd/polyrpc-gen, declares what a method needs; a caller
whose principal is not a [Permitter] that allows it is answered -32012 before the params are
decoded, and rpc_modules and rpc.discover leave out what it may not call.

# Cancellation

A client cancels a call it sent on the same connection with the notification
{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":ID}} (Options.CancelMethod): the call's
context is cancelled and the call, unless it has answered already, is answered -32800. Only the
calls that can see a cancel coming are tracked, those running while their connection is read
(on a worker, or after reading moved on to another goroutine), so a quick call pays nothing. The
[Client] sends the notification when a call's context ends, after [Client.SetCancelMethod]; over
HTTP a client cancels by closing its request, and in-process by its context
([Session.Handle]'s context).

# Transports

A transport connects in one of three ways:

  - [Server.ServeConn] with a message [Conn] (WebSocket), or [Server.ServeStream] with a byte
    stream framed by the shared codec (IPC);
  - [Server.NewSession] for transports that read messages themselves and hand each to
    [Session.Handle] (HTTP, in-process).

What a transport may implement beyond [Conn] or [MessageWriter] is named by interfaces
([Flusher], [Releaser], [HangupNotifier], [ReasonCloser]) that the transport asserts at
compile time; [ConnOptions] carries the switches that are not capabilities
(ConcurrentWrites, InlineTimedCalls). The server's budget for request bytes in flight, which
every transport reserves from while it reads, is [Server.RequestBudget].

The client side mirrors this: [NewClient] over a [Conn], [NewTransportClient] over a
request/response [Transport], and [NewReconnectingClient] over a function that dials a [Conn],
which it calls again, with backoff, whenever the connection fails.

# JSON

The envelope of every message (jsonrpc, id, method, params) is read by a small scanner of
polyrpc's codec that validates the whole message once and keeps id and params as raw bytes;
params are then decoded straight into the method's argument types, and results encoded, with
encoding/json (plain kinds directly, on both sides). Positional params are split into arguments
without being validated a second time.

Arguments of type any (any interface without methods), and results whose dynamic type is one of
the shapes such an argument holds (map[string]any, []any, string, float64, bool, nil,
json.Number), take a fast path of polyrpc's codec that gives exactly what encoding/json gives:
the same values (numbers as float64 rounded as strconv.ParseFloat rounds them, a number out of
range refused with the same error, strings unescaped with invalid UTF-8 and unpaired surrogates
replaced by U+FFFD, the last of duplicate keys winning) and the same bytes (map keys sorted, the
same escapes, floats formatted alike, NaN and infinities refused with the same error). Values of
other types inside such a result (structs, json.RawMessage, types with MarshalJSON) are still
written by encoding/json. As everywhere in the messages polyrpc writes (answers and
notifications alike), <, > and & are not HTML-escaped (json.Encoder's SetEscapeHTML(false)).
Decoded strings share chunks of up to 4 KiB, which a string kept by the method keeps alive. The
figures are in integration_test/bench/README.md (BenchmarkAnyJSON64KiB).

encoding/json was chosen by benchmark (integration_test/bench, BenchmarkJSON) over
github.com/go-json-experiment/json (v2), whose gains were small and mixed. v2's defaults change
the wire (nil slices, omitempty, byte arrays, case-sensitive names, error types) in ways
go-ethereum's clients notice, and its v1-compatible mode gives back most of the gain while
adding a third-party dependency to the core. Revisit when Go's own
encoding/json/v2 (GOEXPERIMENT=jsonv2) becomes the default.

# Subscriptions

A method that takes a context and returns (*subscriptions.Subscription, error) is a
subscription, called as NS_subscribe with its name first (go-ethereum's wire shape, so ethers.js,
web3.js and go-ethereum's client work unchanged):

	--> {"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["ticks",3,1]}
	<-- {"jsonrpc":"2.0","id":1,"result":"0x…"}
	<-- {"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"0x…","result":1}}

By name, the subscription's name goes in the "subscription" member:
{"subscription":"ticks","n":3,"start":1}. NS_unsubscribe(id) answers true, or -32000
"subscription not found" for an id the connection does not hold. The answer to the subscribe
call is always written before the first notification (in a batch: after the batch's array),
and a subscribe whose answer is never written (a notification, a timeout) ends its
subscription. Over HTTP (ConnOptions.NoSubscriptions) subscribe answers -32601 "notifications
not supported". NS_subscribe and NS_unsubscribe are reserved: a method named Subscribe or
Unsubscribe is refused at registration.

The package subscriptions documents the server side: notifiers, the per-connection queue
bounded by Options.Subscriptions, the overflow policies and their lag notices
(NS_subscriptionLag), and the fan-out Feed on its broker, whose notifications carry their
offsets and whose subscriptions resume from a position (a trailing *subscriptions.Position
argument; NS_subscriptionPosition notices). On the client, [Client.Subscribe] delivers decoded
notifications to a channel through a bounded buffer ([ClientBufferLimit]); a consumer that falls
behind ends its subscription with [ErrSubscriptionQueueOverflow] instead of stalling the
connection, and the server's lag notices arrive on [ClientSubscription.Lagged]. The client
tracks positions ([ClientSubscription.Position]) and reports notifications lost while a
subscription goes on on [ClientSubscription.Gaps]; a reconnecting client resumes each
subscription from its last position.

# Calls in both directions

On a connection that carries messages both ways (WebSocket, IPC, in-process; not HTTP) a method
can call its client, and a client can stream values to a method:

  - [CallClient] (and [NotifyClient]) calls a method the client serves, from the method's
    context: the result decoded, or the client's *[Error]; bounded by the context's deadline or
    Options.CallbackTimeout, at most Options.MaxCallbacks at once per connection. The server's
    requests carry ids of their own ("s1", "s2", …); their answers are routed without a call
    slot, and an answer no call waits for is dropped. Over HTTP it fails with [ErrNoCallback].
  - A [Client] serves methods: [Client.Register] (the same rules as [Server.Register]) and
    [Client.ServeOther].
  - A method whose last argument is a *[Stream] is client-streaming: calling it opens the stream
    and answers its id, NS_streamItem {stream, value, seq} sends each value (answered once the
    stream's buffer, Options.StreamBuffer, holds it: the client is slowed to the method's pace),
    and NS_streamEnd {stream} answers the method's result. [Client.OpenStream] drives it from
    Go.

# Metadata and discovery

Reflection sees neither parameter names nor doc comments, so cmd/polyrpc-gen reads them from the
source. A go:generate line in the package that declares a service type,

	//go:generate go run github.com/polyrpc/polyrpc/cmd/polyrpc-gen -type Calculator

writes calculator_rpcmeta.go, whose init hands a [ServiceMetadata] to [RegisterMetadata]: per
method, its parameter names, its doc comment (the first sentence is its summary), the doc of its
result, the errors it declares in an "Errors:" block of the comment, and whether it is
deprecated; and the docs of the package's types that the methods take and return, with their
fields' docs, which describe their schemas. [Server.Register] then accepts params by name under the source's names
([WithParamNames] still wins; a //polyrpc:positional directive keeps a method positional only),
and it refuses metadata that no longer fits the code: a method the type no longer has, or a
different number of arguments, is an error naming the type and the method (run go generate).
The generator's tests regenerate every such file of the module and fail when one is stale.

The generated metadata also gives each method an invoker ([MethodMetadata.Invoke]): a function
that calls the method directly, its arguments type-asserted from pointers, so that the call
skips reflect.Value.Call, which costs a short method several times its own run time (a batch of
100 calls without arguments is handled in under half the time, with no allocations instead of
200; an argument still costs the allocation that holds its decoded value). A
method the generator cannot call directly (a variadic one, or one whose argument types it
cannot name from the generated file) and any type without generated metadata are called
through reflection, with the same behaviour on the wire. Since the invoker calls the method in
Go source, a file that no longer fits the method's signature does not compile.

The built-in rpc.discover (the name OpenRPC reserves) answers an OpenRPC 1.3 document of what the
caller's connection may call: info from Options.Name and Options.Version, one entry per method
with its params (named, or arg0, arg1, … when their names are unknown), required flags by the
rules above, paramStructure (by-position without names, by-name for a single struct argument,
either otherwise), summary, description and declared errors, and a JSON Schema for every param
and result derived from its Go type as encoding/json reads and writes it: json tags (omitempty,
string), embedded structs, pointers, slices and maps as nullable, []byte as base64, time.Time as
date-time, json.RawMessage and interfaces as any value, a type with its own MarshalJSON as any
value and a TextMarshaler as a string. Named structs, and types that contain themselves, are
defined once under components/schemas and referred to by $ref.

OpenRPC cannot express subscriptions, so each appears as an entry named NS_subscribe(name) (names
must be unique in a document) whose first param, subscription, is the constant name, followed by
the method's own params; its x-subscription member gives the wire method (NS_subscribe), the
notification method (NS_subscription), NS_unsubscribe, and the schema of each notification's
result, known when the registration declares it with [WithNotificationType] or the method's doc
comment has a "Notifies: T" line for the generator ({} otherwise). A
connection without server push (HTTP) is not offered them. [Server.OpenRPC] gives the same
document for a namespace allowlist, as the binary serves it at GET /openrpc.json.

rpc's own tests validate the documents against the OpenRPC meta-schema with
github.com/santhosh-tekuri/jsonschema/v6, a test-only dependency: the package itself still uses
the standard library alone.
*/
package rpc
