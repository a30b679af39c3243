package rpc_test

import (
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
)

// TestCredentials: the helpers an authenticator reads credentials with.
func TestCredentials(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cred         rpc.Credentials
		auth, bearer string
	}{
		{"none", rpc.Credentials{}, "", ""},
		{"bearer", rpc.Credentials{Header: map[string][]string{"Authorization": {"Bearer abc "}}}, "Bearer abc ", "abc"},
		{"any case", rpc.Credentials{Header: map[string][]string{"authorization": {"bearer xyz"}}}, "bearer xyz", "xyz"},
		{"basic", rpc.Credentials{Header: map[string][]string{"Authorization": {"Basic Zm9v"}}}, "Basic Zm9v", ""},
		{"query token", rpc.Credentials{Token: "tok"}, "", "tok"},
		{"header wins", rpc.Credentials{Header: map[string][]string{"Authorization": {"Bearer h"}}, Token: "q"}, "Bearer h", "h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cred.HeaderValue("Authorization"); got != tc.auth {
				t.Errorf("HeaderValue = %q, want %q", got, tc.auth)
			}
			if got := tc.cred.BearerToken(); got != tc.bearer {
				t.Errorf("BearerToken = %q, want %q", got, tc.bearer)
			}
		})
	}
}
