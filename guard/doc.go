// Package guard is the root of polyrpc's guard module, which keeps the dependencies of
// authentication and limits (golang-jwt, x/time) out of the library's go.mod. Its packages:
//
//   - jwtauth: go-ethereum's engine-API JSON Web Tokens, verified (an rpc.Authenticator) and
//     signed (a client's HeaderFunc);
//   - ratelimit: token buckets and concurrency caps per method, a middleware on the rpc seam;
//   - tlsauth: TLS with a reloadable certificate, mutual TLS and the client certificate's
//     subject as principal; tlsauth/tlstest makes certificates for tests.
//
// This package itself holds only the security table test, which tries each attack on a
// server guarded by all of them and shows what happened.
package guard
