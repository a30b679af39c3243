package jwtauth

import (
	"context"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are what [Sign] puts in a token.
type Claims struct {
	IssuedAt  time.Time // "iat"; zero: now
	ExpiresAt time.Time // "exp"; zero: none (go-ethereum's clients send none)
	Subject   string    // "sub"; "": none
}

// Sign returns a token with claims, signed with HS256 and secret.
func Sign(secret Secret, claims Claims) (string, error) {
	iat := claims.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	rc := jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(iat), Subject: claims.Subject}
	if !claims.ExpiresAt.IsZero() {
		rc.ExpiresAt = jwt.NewNumericDate(claims.ExpiresAt)
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, rc).SignedString(secret[:])
}

// HeaderFunc returns a function that sets an "Authorization: Bearer TOKEN" header with a
// fresh token (iat = now) signed with secret each time it is called: give it to
// transports.Options.HeaderFunc (or httprpc.ClientOptions', wsrpc.DialOptions'), which call it
// for each HTTP request and each WebSocket dial, as go-ethereum's client signs. (Signing with
// HS256 and a 32-byte key does not fail; if it did, the request would go without a token and
// be refused.)
func HeaderFunc(secret Secret) func(context.Context, http.Header) {
	return func(_ context.Context, h http.Header) {
		if tok, err := Sign(secret, Claims{}); err == nil {
			h.Set("Authorization", "Bearer "+tok)
		}
	}
}
