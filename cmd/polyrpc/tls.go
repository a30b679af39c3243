package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/polyrpc/polyrpc/guard/tlsauth"
	"github.com/polyrpc/polyrpc/rpc"
)

// tlsFlags are the TLS settings of polyrpc serve's HTTP and WebSocket listeners (public and
// authenticated).
type tlsFlags struct {
	cert, key string // the server certificate and its key (PEM); both or neither
	clientCA  string // authorities whose client certificates are required (mutual TLS); "": none

	// Set by load.
	loaded    *tlsauth.Certificate
	config    *tls.Config
	clientCAs bool
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cert, "tls.cert", "", "serve HTTP and WebSocket over TLS with this certificate chain (PEM; with --tls.key; reloaded on SIGHUP)")
	fs.StringVar(&f.key, "tls.key", "", "the private key of --tls.cert (PEM)")
	fs.StringVar(&f.clientCA, "tls.clientca", "", "require client certificates signed by these authorities (PEM; mutual TLS: the certificate's subject is the principal)")
}

// on reports whether the listeners serve TLS.
func (f *tlsFlags) on() bool { return f.cert != "" }

// validate checks the flags and loads the certificate and the authorities, so that a bad file
// stops the server at start.
func (f *tlsFlags) validate(c *serveConfig) error {
	switch {
	case f.cert == "" && f.key == "" && f.clientCA == "":
		return nil
	case f.cert == "" || f.key == "":
		return errors.New(c.name("tls.cert") + " and " + c.name("tls.key") + " go together")
	}
	cert, err := tlsauth.LoadCertificate(f.cert, f.key)
	if err != nil {
		return errors.New("invalid " + c.name("tls.cert") + ": " + err.Error())
	}
	f.loaded = cert
	if f.clientCA == "" {
		f.config = tlsauth.ServerConfig(cert, nil)
		return nil
	}
	cas, err := tlsauth.LoadCAPool(f.clientCA)
	if err != nil {
		return errors.New("invalid " + c.name("tls.clientca") + ": " + err.Error())
	}
	f.config, f.clientCAs = tlsauth.ServerConfig(cert, cas), true
	return nil
}

// authenticator is the public endpoints' authenticator: the client certificate's subject under
// mutual TLS, else none.
func (f *tlsFlags) authenticator() rpc.Authenticator {
	if f.clientCAs {
		return tlsauth.Authenticator
	}
	return nil
}

// stopSignals are the signals that stop polyrpc serve: SIGHUP reloads the certificate instead
// when the listeners serve TLS.
func (f *tlsFlags) stopSignals() []os.Signal {
	if f.on() {
		return []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	return stopSignals
}

// reloadOnHangup reloads the certificate on each SIGHUP until the returned function is called
// (which waits for the goroutine it started). A reload that fails keeps the certificate in use
// and is logged. Without TLS it does nothing. It also listens when the server was started with
// SIGHUP ignored (nohup): a reload never stops the server, and an operator's SIGHUP must work.
func (f *tlsFlags) reloadOnHangup(log *slog.Logger) (stop func()) {
	if !f.on() {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-hup:
				if err := f.loaded.Reload(); err != nil {
					log.Error("TLS certificate not reloaded: keeping the one in use", "err", err)
					continue
				}
				leaf := f.loaded.Leaf()
				log.Info("TLS certificate reloaded", "subject", leaf.Subject.String(), "notAfter", leaf.NotAfter)
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(hup)
		close(done)
		wg.Wait()
	}
}

// secure returns the scheme of a TLS listener for scheme: https for http, wss for ws.
func (f *tlsFlags) secure(scheme string) string {
	if !f.on() {
		return scheme
	}
	return scheme + "s"
}
