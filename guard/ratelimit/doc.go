// Package ratelimit limits how often, and how many at once, JSON-RPC methods may be called:
// a middleware on the rpc seam, so one set of rules holds for every transport.
//
// A [Rule] names methods ("chat_send"), namespaces ("chat_*") or every method ("*"), and
// sets a rate (a token bucket of golang.org/x/time/rate, Burst calls at once and Rate a
// second after) kept per key: per client IP address, per connection, or per principal (what
// the transport's authenticator returned; a call without one is keyed by its IP), and a cap
// on how many of its calls may run at once in the whole server. The methods of a rule share
// its budget: a rule on "chat_*" allows that many calls of the namespace, whichever method;
// give a method a rule of its own for a budget of its own. Every rule that matches a call
// applies to it: "*" can bound all calls while a tighter rule bounds an expensive method.
//
// Each call of a batch is charged on its own. A call over a limit is not run (nor are its
// params decoded): it is answered -32005 with data {"retryAfterMs": N}, the time after which
// its bucket will have a token again (for a concurrency cap, the rule's recent mean call
// duration), and a refused call charges no other rule. Unsubscribe calls are never limited.
// Every refusal is reported to Options.Refused with the reason [RefusedRate], so that the
// server's Hooks.Refused (metrics) counts it among the other refusals.
//
// Over HTTP, a request that the limiter refuses as a whole (its single call, or every call
// of its batch) is answered 429 Too Many Requests with a Retry-After header (seconds,
// rounded up) when the HTTP handler is wrapped with [Limiter.HTTP]; the body is the JSON-RPC
// answer all the same. A batch of which only some calls are refused is answered 200, each
// refused call with its -32005.
//
// Memory is bounded: a bucket left alone until it is full again is the same as a new one, so
// such buckets are dropped whenever a rule's table has doubled since the last sweep, and a
// table never holds more than Options.MaxKeys buckets (past it, arbitrary buckets are dropped,
// which gives their keys a full bucket again: under a flood from more addresses than that,
// the limit loosens rather than memory growing).
//
// Client IP addresses are the connection's remote address: behind a proxy every client has the
// proxy's, so key such a rule by principal, or put the limit in the proxy.
package ratelimit
