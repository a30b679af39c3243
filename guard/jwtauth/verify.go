package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/polyrpc/polyrpc/rpc"
)

// IssuedAtWindow is how far a token's "iat" may be from the server's clock, either way:
// go-ethereum's jwtExpiryTimeout.
const IssuedAtWindow = 60 * time.Second

// Why a token is refused, in go-ethereum's words (a client sees them in the 401's body).
// Tokens that do not parse, are not HS256 or have a bad signature are refused with the JWT
// parser's error instead.
var (
	ErrMissingToken    = errors.New("missing token")
	ErrExpired         = errors.New("token is expired")
	ErrMissingIssuedAt = errors.New("missing issued-at")
	ErrStale           = errors.New("stale token")
	ErrFuture          = errors.New("future token")
)

// Principal is who a valid token makes its bearer: a holder of the secret. It is the
// principal of the connection (rpc.PrincipalFromContext).
type Principal struct {
	Subject   string    // the token's "sub" claim, "" when it has none
	IssuedAt  time.Time // the token's "iat"
	ExpiresAt time.Time // the token's "exp"; zero when it has none
}

// Allows reports true for every permission: whoever holds the secret is trusted with
// everything, as by go-ethereum (narrow what an endpoint offers with its namespaces).
func (p *Principal) Allows(string) bool { return true }

// String names the principal for logs and rate-limit keys: "jwt", or "jwt:SUBJECT".
func (p *Principal) String() string {
	if p.Subject == "" {
		return "jwt"
	}
	return "jwt:" + p.Subject
}

// Verifier checks tokens signed with one secret. It is an rpc.Authenticator; see the package
// documentation. It is safe for concurrent use.
type Verifier struct {
	secret Secret
	parser *jwt.Parser
	now    func() time.Time
}

var _ rpc.Authenticator = (*Verifier)(nil)

// NewVerifier returns a Verifier of tokens signed with secret.
func NewVerifier(secret Secret) *Verifier {
	return &Verifier{
		secret: secret,
		// The claims are checked below, with go-ethereum's rules: the parser's own checks
		// would refuse an iat slightly ahead of this clock and not one long past.
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithoutClaimsValidation()),
		now:    time.Now,
	}
}

// Verify checks token and returns its principal, or why it is refused.
func (v *Verifier) Verify(token string) (*Principal, error) {
	if token == "" {
		return nil, ErrMissingToken
	}
	var claims jwt.RegisteredClaims
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodHS256 { // WithValidMethods has refused it already
			return nil, fmt.Errorf("signing method %v is invalid", t.Header["alg"])
		}
		return v.secret[:], nil
	})
	if err != nil {
		return nil, err
	}
	now := v.now()
	p := &Principal{Subject: claims.Subject}
	if claims.ExpiresAt != nil {
		p.ExpiresAt = claims.ExpiresAt.Time
		if !now.Before(p.ExpiresAt) {
			return nil, ErrExpired
		}
	}
	if claims.IssuedAt == nil {
		return nil, ErrMissingIssuedAt
	}
	p.IssuedAt = claims.IssuedAt.Time
	switch {
	case now.Sub(p.IssuedAt) > IssuedAtWindow:
		return nil, ErrStale
	case p.IssuedAt.Sub(now) > IssuedAtWindow:
		return nil, ErrFuture
	}
	return p, nil
}

// Authenticate implements rpc.Authenticator: it verifies the bearer token of cred (the
// Authorization header, or a WebSocket upgrade's token query parameter) and returns its
// principal, which expires at the token's "exp" (zero: never).
func (v *Verifier) Authenticate(_ context.Context, cred *rpc.Credentials) (any, time.Time, error) {
	p, err := v.Verify(cred.BearerToken())
	if err != nil {
		return nil, time.Time{}, err
	}
	return p, p.ExpiresAt, nil
}
