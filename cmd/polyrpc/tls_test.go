package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/polyrpc/polyrpc/guard/tlsauth/tlstest"
)

// TestTLSFlags: --tls.cert and --tls.key load the certificate (https/wss endpoints, SIGHUP no
// longer a stop signal); --tls.clientca adds mutual TLS and its authenticator; a CA file with
// no certificate stops the server at start.
func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca, err := tlstest.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Issue(tlstest.Options{CommonName: "server", Server: true})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := pair.Write(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := ca.Write(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseServeFlags([]string{"--tls.cert", certFile, "--tls.key", keyFile}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.tls.config == nil || c.tls.authenticator() != nil || c.tls.secure("ws") != "wss" || c.tls.secure("http") != "https" {
		t.Fatalf("TLS without client CAs: %+v", c.tls)
	}
	for _, s := range c.tls.stopSignals() {
		if s == syscall.SIGHUP {
			t.Fatal("SIGHUP stops a server whose certificate it should reload")
		}
	}
	c, err = parseServeFlags([]string{"--tls.cert", certFile, "--tls.key", keyFile, "--tls.clientca", caFile}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.tls.config.ClientCAs == nil || c.tls.authenticator() == nil {
		t.Fatalf("mutual TLS: %+v", c.tls)
	}
	bad := filepath.Join(dir, "bad.crt")
	os.WriteFile(bad, []byte("nothing"), 0o600)
	_, err = parseServeFlags([]string{"--tls.cert", certFile, "--tls.key", keyFile, "--tls.clientca", bad}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "invalid --tls.clientca") {
		t.Fatalf("a client CA file without certificates: %v", err)
	}
	if c, _ := parseServeFlags(nil, io.Discard); c.tls.secure("ws") != "ws" || c.tls.authenticator() != nil {
		t.Fatal("TLS without --tls.cert")
	}
}
