package tlsauth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/guard/tlsauth"
	"github.com/polyrpc/polyrpc/guard/tlsauth/tlstest"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// must returns v, or panics with err: for set-up steps that never fail.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// whoService tells the caller who the server takes it for.
type whoService struct{}

func (whoService) Am(ctx context.Context) string {
	if p, ok := rpc.PrincipalFromContext(ctx).(fmt.Stringer); ok {
		return p.String()
	}
	return "nobody"
}

// serveTLS serves srv over HTTP and WebSocket on a TLS listener with cfg, with auth; it
// returns the address.
func serveTLS(t *testing.T, srv *rpc.Server, cfg *tls.Config, auth rpc.Authenticator) string {
	t.Helper()
	httpH := httprpc.NewHandler(srv, &httprpc.Options{Authenticator: auth})
	wsH := wsrpc.NewHandler(srv, &wsrpc.Options{Authenticator: auth})
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wsrpc.IsUpgrade(r) {
			wsH.ServeHTTP(w, r)
			return
		}
		httpH.ServeHTTP(w, r)
	}), TLSConfig: cfg, ErrorLog: log.New(io.Discard, "", 0)} // refused handshakes are the tests
	go hs.ServeTLS(ln, "", "")
	t.Cleanup(func() {
		srv.Stop()
		hs.Close()
	})
	return ln.Addr().String()
}

func newServer(t *testing.T) *rpc.Server {
	srv := rpc.NewServer(nil)
	if err := srv.Register("who", whoService{}); err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestReload: a reload serves the new certificate to new handshakes while a connection made
// before keeps working; a reload that fails keeps the certificate in use.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	ca := must(tlstest.NewCA("test CA"))
	caFile := must(ca.Write(dir, "ca"))
	first := must(ca.Issue(tlstest.Options{CommonName: "first", Server: true}))
	certFile, keyFile := write(first, dir, "server")
	cert := must(tlsauth.LoadCertificate(certFile, keyFile))
	addr := serveTLS(t, newServer(t), tlsauth.ServerConfig(cert, nil), nil)

	clientCfg := must(tlsauth.ClientConfig(caFile, "", ""))
	served := func() string {
		t.Helper()
		c := must(tls.Dial("tcp", addr, clientCfg))
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	ws := must(wsrpc.Dial(context.Background(), "wss://"+addr, &wsrpc.DialOptions{TLSClientConfig: clientCfg}))
	defer ws.Close()
	if got := served(); got != "first" {
		t.Fatalf("served %q, want first", got)
	}

	second := must(ca.Issue(tlstest.Options{CommonName: "second", Server: true}))
	write(second, dir, "server")
	if err := cert.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != "second" || cert.Leaf().Subject.CommonName != "second" {
		t.Fatalf("after the reload: served %q, want second", got)
	}
	var who string
	if err := ws.Call(context.Background(), &who, "who_am"); err != nil {
		t.Fatalf("the connection made before the reload: %v", err)
	}

	os.WriteFile(certFile, []byte("garbage"), 0o600)
	if err := cert.Reload(); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Fatalf("reload of a bad file: err = %v, want one naming it", err)
	}
	if got := served(); got != "second" {
		t.Fatalf("after a failed reload: served %q, want second still", got)
	}
}

// write writes p to dir as name.crt and name.key and returns their paths.
func write(p *tlstest.Pair, dir, name string) (string, string) {
	c, k, err := p.Write(dir, name)
	if err != nil {
		panic(err)
	}
	return c, k
}

// TestMutualTLS: with client authorities, a client certificate they signed is required in the
// handshake, and its subject is the principal over HTTPS and wss://; another authority's
// certificate, or none, fails the handshake.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := must(tlstest.NewCA("test CA"))
	other := must(tlstest.NewCA("other CA"))
	caFile := must(ca.Write(dir, "ca"))
	server := must(ca.Issue(tlstest.Options{CommonName: "server", Server: true}))
	cert := loadCert(server, dir)
	addr := serveTLS(t, newServer(t), tlsauth.ServerConfig(cert, ca.Pool()), tlsauth.Authenticator)

	alice := must(ca.Issue(tlstest.Options{CommonName: "alice"}))
	aliceCert, aliceKey := write(alice, dir, "alice")
	mallory := must(other.Issue(tlstest.Options{CommonName: "mallory"}))
	malCert, malKey := write(mallory, dir, "mallory")

	tests := []struct {
		name, cert, key string
		want            string // the principal, or "" for a refused handshake
	}{
		{"client certificate", aliceCert, aliceKey, "CN=alice,O=polyrpc tests"},
		{"another authority's certificate", malCert, malKey, ""},
		{"no certificate", "", "", ""},
	}
	for _, tt := range tests {
		cfg := must(tlsauth.ClientConfig(caFile, tt.cert, tt.key))
		t.Run(tt.name+" handshake", func(t *testing.T) {
			// Under TLS 1.3 the client hears of a refused certificate at its first read.
			c, err := tls.Dial("tcp", addr, cfg)
			if err == nil {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
				if err == nil {
					_, err = c.Read(make([]byte, 1))
				}
				c.Close()
			}
			if refused := err != nil && strings.Contains(err.Error(), "tls: "); refused != (tt.want == "") {
				t.Fatalf("handshake: %v; want refused %v", err, tt.want == "")
			}
		})
		for _, url := range []string{"https://" + addr, "wss://" + addr} {
			t.Run(tt.name+" "+url[:strings.Index(url, ":")], func(t *testing.T) {
				var c *rpc.Client
				var err error
				if strings.HasPrefix(url, "https") {
					c, err = httprpc.Dial(context.Background(), url, &httprpc.ClientOptions{TLSClientConfig: cfg})
				} else {
					c, err = wsrpc.Dial(context.Background(), url, &wsrpc.DialOptions{TLSClientConfig: cfg})
				}
				var who string
				if err == nil {
					defer c.Close()
					err = c.Call(context.Background(), &who, "who_am")
				}
				switch {
				case tt.want == "" && err == nil:
					t.Fatalf("accepted as %q", who)
				case tt.want != "" && (err != nil || who != tt.want):
					t.Fatalf("principal %q, %v; want %q", who, err, tt.want)
				}
			})
		}
	}
}

// TestCertificateExpiry: a WebSocket authenticated by a client certificate is closed, with
// the reason, when the certificate expires.
func TestCertificateExpiry(t *testing.T) {
	dir := t.TempDir()
	ca := must(tlstest.NewCA("test CA"))
	server := must(ca.Issue(tlstest.Options{CommonName: "server", Server: true}))
	cert := loadCert(server, dir)
	addr := serveTLS(t, newServer(t), tlsauth.ServerConfig(cert, ca.Pool()), tlsauth.Authenticator)
	brief := must(ca.Issue(tlstest.Options{CommonName: "brief", NotAfter: time.Now().Add(1500 * time.Millisecond)}))
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{brief.TLS}}}
	ws, _, err := d.Dial("wss://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"who_am"}`))
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), "CN=brief") {
		t.Fatalf("who_am: %s, %v", msg, err)
	}
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != rpc.ReasonAuthExpired {
		t.Fatalf("read: %v, want close 1008 %q", err, rpc.ReasonAuthExpired)
	}
}

// TestClientConfigErrors: a certificate without its key, and a CA file without certificates.
func TestClientConfigErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := tlsauth.ClientConfig("", dir+"/c.crt", ""); err == nil {
		t.Error("a certificate without a key: no error")
	}
	empty := dir + "/empty.crt"
	os.WriteFile(empty, []byte("nothing"), 0o600)
	if _, err := tlsauth.ClientConfig(empty, "", ""); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without certificates: err = %v", err)
	}
}

// loadCert writes p to dir and loads it as a server certificate.
func loadCert(p *tlstest.Pair, dir string) *tlsauth.Certificate {
	return must(tlsauth.LoadCertificate(write(p, dir, "server")))
}
