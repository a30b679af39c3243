package jwtauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/polyrpc/polyrpc/guard/jwtauth"
	"github.com/polyrpc/polyrpc/rpc"
)

// token signs claims with method and key, as an attacker or a foreign client might.
func token(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	secret, other := jwtauth.NewSecret(), jwtauth.NewSecret()
	v := jwtauth.NewVerifier(secret)
	// at is now+d in whole seconds, rounded away from now when |d| is over the window and
	// towards it when within, so that the second's truncation cannot move a case across.
	at := func(d time.Duration) int64 {
		t := time.Now().Add(d)
		if up := (d > 0) == (d.Abs() > jwtauth.IssuedAtWindow); up && t.Truncate(time.Second) != t {
			return t.Unix() + 1
		}
		return t.Unix()
	}
	hs := func(claims jwt.MapClaims) string { return token(t, jwt.SigningMethodHS256, secret[:], claims) }
	tests := []struct {
		name  string
		token string
		want  error  // nil: accepted
		text  string // else a part of the error's text
	}{
		{"valid", hs(jwt.MapClaims{"iat": at(0)}), nil, ""},
		{"iat 59 s old", hs(jwt.MapClaims{"iat": at(-59 * time.Second)}), nil, ""},
		{"iat 59 s ahead", hs(jwt.MapClaims{"iat": at(59 * time.Second)}), nil, ""},
		{"exp ahead", hs(jwt.MapClaims{"iat": at(0), "exp": at(time.Hour)}), nil, ""},
		{"no token", "", jwtauth.ErrMissingToken, ""},
		{"iat 61 s old", hs(jwt.MapClaims{"iat": at(-61 * time.Second)}), jwtauth.ErrStale, ""},
		{"iat 61 s ahead", hs(jwt.MapClaims{"iat": at(61 * time.Second)}), jwtauth.ErrFuture, ""},
		{"no iat", hs(jwt.MapClaims{"exp": at(time.Hour)}), jwtauth.ErrMissingIssuedAt, ""},
		{"exp passed", hs(jwt.MapClaims{"iat": at(-2 * time.Second), "exp": at(-time.Second)}), jwtauth.ErrExpired, ""},
		{"wrong secret", token(t, jwt.SigningMethodHS256, other[:], jwt.MapClaims{"iat": at(0)}), jwt.ErrTokenSignatureInvalid, ""},
		{"alg none", token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"iat": at(0)}), jwt.ErrTokenSignatureInvalid, "none"},
		{"alg HS512 with the secret", token(t, jwt.SigningMethodHS512, secret[:], jwt.MapClaims{"iat": at(0)}), jwt.ErrTokenSignatureInvalid, "HS512"},
		{"garbage", "a.b.c", jwt.ErrTokenMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(tt.token)
			if tt.want == nil {
				if err != nil || p == nil {
					t.Fatalf("refused: %v", err)
				}
				if !p.Allows("admin") || p.String() != "jwt" {
					t.Fatalf("principal %v does not allow admin", p)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) || p != nil {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.want, tt.text)
			}
		})
	}
}

// TestAuthenticate: the token comes from the Authorization header (Bearer, any case) or a
// WebSocket upgrade's token parameter; the principal expires at exp.
func TestAuthenticate(t *testing.T) {
	secret := jwtauth.NewSecret()
	v := jwtauth.NewVerifier(secret)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok, err := jwtauth.Sign(secret, jwtauth.Claims{ExpiresAt: exp, Subject: "cl"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cred rpc.Credentials
		ok   bool
	}{
		{"bearer header", rpc.Credentials{Header: http.Header{"Authorization": {"Bearer " + tok}}}, true},
		{"lower-case bearer", rpc.Credentials{Header: http.Header{"Authorization": {"bearer " + tok}}}, true},
		{"upgrade's token parameter", rpc.Credentials{Token: tok}, true},
		{"basic auth", rpc.Credentials{Header: http.Header{"Authorization": {"Basic " + tok}}}, false},
		{"nothing", rpc.Credentials{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, expires, err := v.Authenticate(context.Background(), &tt.cred)
			if !tt.ok {
				if err == nil {
					t.Fatalf("accepted: %v", p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pr := p.(*jwtauth.Principal); pr.Subject != "cl" || pr.String() != "jwt:cl" || !expires.Equal(exp) {
				t.Fatalf("principal %+v expiring %v, want subject cl expiring %v", pr, expires, exp)
			}
		})
	}
}

// TestHeaderFunc: each call sets a new token that verifies, with iat now and no exp.
func TestHeaderFunc(t *testing.T) {
	secret := jwtauth.NewSecret()
	hf := jwtauth.HeaderFunc(secret)
	v := jwtauth.NewVerifier(secret)
	for range 2 {
		h := http.Header{"Authorization": {"Basic old"}}
		hf(context.Background(), h)
		tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
		if !ok {
			t.Fatalf("header %v: want Authorization: Bearer", h)
		}
		p, err := v.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(p.IssuedAt); d < -time.Second || d > 2*time.Second || !p.ExpiresAt.IsZero() {
			t.Fatalf("iat %v (%v ago), exp %v: want now and none", p.IssuedAt, d, p.ExpiresAt)
		}
	}
}
