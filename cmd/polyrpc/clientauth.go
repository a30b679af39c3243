package main

import (
	"flag"
	"fmt"

	"github.com/polyrpc/polyrpc/guard/jwtauth"
	"github.com/polyrpc/polyrpc/guard/tlsauth"
	"github.com/polyrpc/polyrpc/transports"
)

// clientGuards are the client commands' credentials: a JWT secret for an authenticated
// endpoint, and TLS roots and a client certificate for https:// and wss://.
type clientGuards struct {
	jwtSecret              string
	tlsCA, tlsCert, tlsKey string
}

func (g *clientGuards) register(fs *flag.FlagSet) {
	fs.StringVar(&g.jwtSecret, "jwtsecret", "", "sign a fresh JWT with the secret in this file for each request and connection (an --authrpc endpoint)")
	fs.StringVar(&g.tlsCA, "tls.ca", "", "trust the authorities in this file (PEM) for https:// and wss:// (default: the system's)")
	fs.StringVar(&g.tlsCert, "tls.cert", "", "client certificate for mutual TLS (PEM; with --tls.key)")
	fs.StringVar(&g.tlsKey, "tls.key", "", "the private key of --tls.cert (PEM)")
}

// apply puts the credentials in opts.
func (g *clientGuards) apply(opts *transports.Options) error {
	if g.jwtSecret != "" {
		secret, err := jwtauth.ReadSecret(g.jwtSecret)
		if err != nil {
			return fmt.Errorf("--jwtsecret: %w", err)
		}
		opts.HeaderFunc = jwtauth.HeaderFunc(secret)
	}
	if g.tlsCA != "" || g.tlsCert != "" || g.tlsKey != "" {
		cfg, err := tlsauth.ClientConfig(g.tlsCA, g.tlsCert, g.tlsKey)
		if err != nil {
			return fmt.Errorf("--tls: %w", err)
		}
		opts.TLSClientConfig = cfg
	}
	return nil
}
