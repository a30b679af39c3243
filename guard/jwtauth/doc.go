// Package jwtauth authenticates JSON-RPC clients with JSON Web Tokens the way go-ethereum's
// engine API does (its --authrpc endpoint), so that a consensus client configured for geth
// talks to polyrpc unchanged.
//
// The shared secret is 32 random bytes kept in a file as 64 hexadecimal digits, optionally
// prefixed with 0x, whitespace around them ignored ([ReadSecret], [LoadOrCreateSecret], which
// creates the file with mode 0600 as geth does). A token is accepted when:
//
//   - it is signed with HS256 and the secret (any other "alg", "none" included, is refused);
//   - it has an "iat" (issued at) claim within 60 seconds of the server's clock, either way;
//   - its "exp" claim, when it has one, has not passed.
//
// A [Verifier] is an rpc.Authenticator for httprpc and wsrpc: an HTTP request carries the
// token in "Authorization: Bearer TOKEN", a WebSocket upgrade in that header or in the
// "token" query parameter (browsers cannot set headers on a WebSocket; a plain HTTP request's
// query is never looked at). Its principal, a [*Principal], holds every permission (whoever
// has the secret is trusted, as by geth) and expires at the token's "exp", so a WebSocket whose
// token expires is closed with rpc.ReasonAuthExpired.
//
// Clients sign a fresh token (iat = now) for each HTTP request and each WebSocket dial, as
// go-ethereum's client does: [HeaderFunc] plugs into transports.Options.HeaderFunc (or
// httprpc.ClientOptions and wsrpc.DialOptions).
package jwtauth
