package tlsauth

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// Principal is who a verified client certificate makes its bearer.
type Principal struct {
	// Subject is the certificate's subject as a string (RFC 2253: "CN=alice,O=Example").
	Subject     string
	Certificate *x509.Certificate
}

// Allows reports true for every permission: a client that an authority given to
// ServerConfig vouches for is trusted (narrow what an endpoint offers with its namespaces).
func (p *Principal) Allows(string) bool { return true }

// String returns the subject.
func (p *Principal) String() string { return p.Subject }

// ErrNoClientCertificate refuses a client that came without a verified certificate.
var ErrNoClientCertificate = errors.New("no verified client certificate")

// Authenticator is an rpc.Authenticator for HTTPS and wss:// endpoints whose listener
// requires client certificates ([ServerConfig] with clientCAs): the principal is a
// [*Principal] of the verified certificate, which expires when the certificate does (a
// WebSocket still open then is closed). A client without a verified certificate is refused.
var Authenticator rpc.Authenticator = rpc.AuthenticatorFunc(authenticate)

func authenticate(_ context.Context, cred *rpc.Credentials) (any, time.Time, error) {
	if cred.TLS == nil || len(cred.TLS.VerifiedChains) == 0 || len(cred.TLS.PeerCertificates) == 0 {
		return nil, time.Time{}, ErrNoClientCertificate
	}
	leaf := cred.TLS.PeerCertificates[0]
	return &Principal{Subject: leaf.Subject.String(), Certificate: leaf}, leaf.NotAfter, nil
}
