package tlsauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// Certificate is a server certificate loaded from a certificate file and a key file (PEM),
// which [Certificate.Reload] loads again: connections already open keep the certificate they
// were made with, new handshakes get the new one. It is safe for concurrent use.
type Certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadCertificate loads the certificate chain in certFile and its private key in keyFile.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload loads the files again and, if they hold a valid certificate and key, makes it the one
// new handshakes get. On an error the certificate in use stays.
func (c *Certificate) Reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tlsauth: loading %s and %s: %w", c.certFile, c.keyFile, err)
	}
	c.cur.Store(&pair)
	return nil
}

// GetCertificate returns the certificate in use: it is tls.Config.GetCertificate.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Leaf returns the certificate in use (the first of its chain), parsed.
func (c *Certificate) Leaf() *x509.Certificate { return c.cur.Load().Leaf }

// LoadCAPool reads the PEM certificates of authorities in file into a pool.
func LoadCAPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tlsauth: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("tlsauth: %s holds no PEM certificate", file)
	}
	return pool, nil
}

// ServerConfig returns the TLS configuration of a listener serving cert (TLS 1.2 or newer).
// With clientCAs, a client must present a certificate signed by one of them, or the handshake
// fails (mutual TLS); nil: no client certificate is asked for.
func ServerConfig(cert *Certificate, clientCAs *x509.CertPool) *tls.Config {
	cfg := &tls.Config{GetCertificate: cert.GetCertificate, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		cfg.ClientCAs = clientCAs
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg
}

// ClientConfig returns a client's TLS configuration: the roots are the authorities in caFile
// ("": the system's), and the client certificate, for mutual TLS, the one in certFile and
// keyFile ("": none; both or neither).
func ClientConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := LoadCAPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tlsauth: loading %s and %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case certFile != "" || keyFile != "":
		return nil, errors.New("tlsauth: a client certificate needs both its certificate file and its key file")
	}
	return cfg, nil
}
