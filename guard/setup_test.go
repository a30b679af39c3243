package guard_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/polyrpc/polyrpc/guard/jwtauth"
	"github.com/polyrpc/polyrpc/guard/ratelimit"
	"github.com/polyrpc/polyrpc/guard/tlsauth"
	"github.com/polyrpc/polyrpc/guard/tlsauth/tlstest"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// pubService is callable by anyone.
type pubService struct{}

func (pubService) Echo(v int) int  { return v }
func (pubService) Flood(v int) int { return v }

// adminService needs the permission "admin".
type adminService struct{}

func (adminService) Secret() string { return "the secret" }

// target is the guarded server: its endpoints and what its hooks saw.
type target struct {
	secret  jwtauth.Secret
	authURL string // HTTP and WebSocket, every request needing a JWT
	pubURL  string // HTTP and WebSocket, no authentication, rate limited
	tlsAddr string // HTTPS with mutual TLS
	ca      *tlstest.CA

	mu      sync.Mutex
	refused map[string]int // Hooks.Refused's reasons
}

// refusals returns how many refusals the hooks saw for reason.
func (tg *target) refusals(reason string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.refused[reason]
}

// newTarget starts the guarded server; everything stops when the test ends.
func newTarget(t *testing.T) *target {
	tg := &target{secret: jwtauth.NewSecret(), refused: map[string]int{}}
	hooks := rpc.Hooks{Refused: func(_ *rpc.ConnInfo, reason string) {
		tg.mu.Lock()
		tg.refused[reason]++
		tg.mu.Unlock()
	}}
	lim, err := ratelimit.New([]ratelimit.Rule{{Methods: []string{"pub_flood"}, Rate: 0.1, Burst: 5, Key: ratelimit.KeyIP}},
		&ratelimit.Options{Refused: hooks.Refused})
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(&rpc.Options{Hooks: hooks, Middleware: []rpc.Middleware{lim.Middleware()}})
	t.Cleanup(srv.Stop)
	if err := srv.Register("pub", pubService{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Register("admin", adminService{}, rpc.WithPermission("admin")); err != nil {
		t.Fatal(err)
	}

	jwt := jwtauth.NewVerifier(tg.secret)
	tg.authURL = serve(t, both(httprpc.NewHandler(srv, &httprpc.Options{Authenticator: jwt}),
		wsrpc.NewHandler(srv, &wsrpc.Options{Authenticator: jwt})), nil)
	tg.pubURL = serve(t, both(lim.HTTP(httprpc.NewHandler(srv, nil)), wsrpc.NewHandler(srv, nil)), nil)

	if tg.ca, err = tlstest.NewCA("test CA"); err != nil {
		t.Fatal(err)
	}
	pair, err := tg.ca.Issue(tlstest.Options{CommonName: "server", Server: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, err := pair.Write(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tlsauth.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tg.tlsAddr = serve(t, httprpc.NewHandler(srv, &httprpc.Options{Authenticator: tlsauth.Authenticator}),
		tlsauth.ServerConfig(cert, tg.ca.Pool()))
	return tg
}

// both sends WebSocket upgrades to ws and the rest to h, as the binary's ports do.
func both(h, ws http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wsrpc.IsUpgrade(r) {
			ws.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serve serves h on 127.0.0.1 (with TLS when cfg is set) and returns its http:// URL, or its
// address for TLS.
func serve(t *testing.T, h http.Handler, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, TLSConfig: cfg, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if cfg != nil {
			hs.ServeTLS(ln, "", "")
		} else {
			hs.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		hs.Shutdown(context.Background())
		<-done
	})
	if cfg != nil {
		return ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}
