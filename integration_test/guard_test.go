package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/guard/jwtauth"
	"github.com/polyrpc/polyrpc/guard/tlsauth/tlstest"
	"github.com/polyrpc/polyrpc/transports"
)

// curlPost posts body to url as `curl -s -H 'Content-Type: application/json' [-H HEADER]...
// [ARGS]... -d body URL` does, with curl when it is installed and otherwise with net/http and
// the headers curl sends (its client's TLS configuration then is tlsConfig). It returns the
// status and the body.
func curlPost(t *testing.T, url, body string, headers []string, curlArgs []string, tlsConfig *tls.Config) (int, string) {
	t.Helper()
	if curl, err := exec.LookPath("curl"); err == nil {
		args := []string{"-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", "-H", "Content-Type: application/json"}
		for _, h := range headers {
			args = append(args, "-H", h)
		}
		args = append(append(args, curlArgs...), "-d", body, url)
		out, err := exec.Command(curl, args...).Output()
		if err != nil {
			t.Fatalf("curl %q: %v (%s)", args, err, out)
		}
		text := strings.TrimSpace(string(out))
		i := strings.LastIndexByte(text, '\n')
		var status int
		fmt.Sscan(text[i+1:], &status)
		return status, strings.TrimSpace(text[:max(i, 0)])
	}
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header = http.Header{"User-Agent": {"curl/8.5.0"}, "Accept": {"*/*"}, "Content-Type": {"application/json"}}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestAuthRPC: --authrpc.* serves go-ethereum's authenticated endpoint: the secret file is
// created (0600, printed), a request without a valid JWT is refused 401 (curl), one with a
// fresh token answered, admin included; the Go client and polyrpc call --jwtsecret sign their
// own tokens over HTTP and WebSocket.
func TestAuthRPC(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "jwtsecret")
	s := startServer(t, "--authrpc.port", "0", "--authrpc.jwtsecret", secretFile)
	authHTTP, authWS := s.printed("Auth HTTP endpoint: "), s.printed("Auth WebSocket endpoint: ")
	if got := s.printed("JWT secret created: "); got != secretFile || authHTTP == "" || authWS == "" {
		t.Fatalf("printed secret %q, endpoints %q %q", got, authHTTP, authWS)
	}
	fi, err := os.Stat(secretFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	secret, err := jwtauth.ReadSecret(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwtauth.Sign(secret, jwtauth.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	const modules = `{"jsonrpc":"2.0","id":1,"method":"rpc_modules"}`
	for _, tt := range []struct {
		name    string
		headers []string
		url     string
		status  int
		body    string
	}{
		{"no token", nil, authHTTP, 401, "unauthorized: missing token"},
		{"a token in the query", nil, authHTTP + "/?token=" + tok, 401, "unauthorized: missing token"},
		{"a bad token", []string{"Authorization: Bearer " + tok + "x"}, authHTTP, 401, "unauthorized: token signature is invalid"},
		{"a fresh token", []string{"Authorization: Bearer " + tok}, authHTTP, 200, `"admin":"1.0"`},
		{"the public endpoint (control)", nil, s.HTTP, 200, `"test":"1.0"`},
	} {
		if status, body := curlPost(t, tt.url, modules, tt.headers, nil, nil); status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("curl, %s: %d %s; want %d with %s", tt.name, status, body, tt.status, tt.body)
		}
	}

	for _, url := range []string{authHTTP, authWS} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := transports.Dial(ctx, url, &transports.Options{HeaderFunc: jwtauth.HeaderFunc(secret)})
		if err != nil {
			t.Fatal(err)
		}
		var info struct{ Name string }
		for range 2 { // HTTP: a new token each call
			if err := c.Call(ctx, &info, "admin_nodeInfo"); err != nil || info.Name != "polyrpc" {
				t.Errorf("Go client over %s: admin_nodeInfo %+v, %v", url, info, err)
			}
		}
		c.Close()
		cancel()
		out, errOut, status := runPolyrpc(t, "", "call", "--jwtsecret", secretFile, url, "test_add", "1", "2")
		if status != 0 || strings.TrimSpace(out) != "3" {
			t.Errorf("polyrpc call --jwtsecret %s: status %d, %q %q", url, status, out, errOut)
		}
		if _, errOut, status := runPolyrpc(t, "", "call", url, "test_add", "1", "2"); status != 2 || !strings.Contains(errOut, "401") {
			t.Errorf("polyrpc call %s without the secret: status %d, %q", url, status, errOut)
		}
	}
}

// TestTLS: --tls.cert and --tls.key serve https:// and wss:// (curl --cacert); SIGHUP reloads
// the certificate for new handshakes while an open connection goes on; with --tls.clientca a
// client certificate of the authority is required, and another authority's refused.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := tlstest.NewCA("polyrpc test CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile, _ := ca.Write(dir, "ca")
	issue := func(name string, server bool, cas ...*tlstest.CA) (string, string) {
		t.Helper()
		by := ca
		if len(cas) > 0 {
			by = cas[0]
		}
		p, err := by.Issue(tlstest.Options{CommonName: name, Server: server})
		if err != nil {
			t.Fatal(err)
		}
		file := name
		if server {
			file = "server"
		}
		c, k, err := p.Write(dir, file)
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	certFile, keyFile := issue("first", true)
	s := startServer(t, "--tls.cert", certFile, "--tls.key", keyFile)
	if !strings.HasPrefix(s.HTTP, "https://") || !strings.HasPrefix(s.WS, "wss://") {
		t.Fatalf("endpoints %s %s, want https:// and wss://", s.HTTP, s.WS)
	}
	clientTLS := &tls.Config{RootCAs: ca.Pool()}
	if status, body := curlPost(t, s.HTTP, `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`, nil,
		[]string{"--cacert", caFile}, clientTLS); status != 200 || body != `{"jsonrpc":"2.0","id":1,"result":3}` {
		t.Fatalf("curl --cacert: %d %s", status, body)
	}
	if out, errOut, status := runPolyrpc(t, "", "call", "--tls.ca", caFile, s.WS, "test_add", "2", "2"); status != 0 || strings.TrimSpace(out) != "4" {
		t.Fatalf("polyrpc call --tls.ca over wss: %d %q %q", status, out, errOut)
	}
	served := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", strings.TrimPrefix(s.HTTP, "https://"), clientTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open, err := transports.Dial(ctx, s.WS, &transports.Options{TLSClientConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()

	issue("second", true) // over the files in use
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); served() != "second"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the certificate was not reloaded on SIGHUP")
		}
	}
	var sum int
	if err := open.Call(ctx, &sum, "test_add", 3, 4); err != nil || sum != 7 {
		t.Fatalf("the connection opened before the reload: %d, %v", sum, err)
	}
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	s.cmd.Process.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.stderr.tail(4<<10), "TLS certificate not reloaded"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a failed reload was not logged")
		}
	}
	if got := served(); got != "second" {
		t.Fatalf("after a failed reload the server presents %q, want second still", got)
	}

	// Mutual TLS.
	certFile, keyFile = issue("mtls", true)
	other, _ := tlstest.NewCA("another CA")
	aliceCert, aliceKey := issue("alice", false)
	malCert, malKey := issue("mallory", false, other)
	m := startServer(t, "--tls.cert", certFile, "--tls.key", keyFile, "--tls.clientca", caFile)
	const peers = `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,1]}`
	if status, body := curlPost(t, m.HTTP, peers, nil, []string{"--cacert", caFile, "--cert", aliceCert, "--key", aliceKey},
		withCert(t, clientTLS, aliceCert, aliceKey)); status != 200 || !strings.Contains(body, `"result":2`) {
		t.Errorf("curl with alice's certificate: %d %s", status, body)
	}
	if out, errOut, status := runPolyrpc(t, "", "call", "--tls.ca", caFile, "--tls.cert", aliceCert, "--tls.key", aliceKey, m.WS, "test_add", "1", "1"); status != 0 || strings.TrimSpace(out) != "2" {
		t.Errorf("polyrpc call with alice's certificate over wss: %d %q %q", status, out, errOut)
	}
	for name, args := range map[string][]string{
		"no certificate":                  {"--tls.ca", caFile},
		"another authority's certificate": {"--tls.ca", caFile, "--tls.cert", malCert, "--tls.key", malKey},
	} {
		// The client learns of the refusal as a TLS alert or, having sent its request
		// already (TLS 1.3), as a broken connection.
		if out, errOut, status := runPolyrpc(t, "", append(append([]string{"call"}, args...), m.HTTP, "test_add", "1", "1")...); status != 2 || out != "" {
			t.Errorf("polyrpc call with %s: status %d, %q %q; want a connection error", name, status, out, errOut)
		}
	}
}

// withCert returns cfg with the client certificate in certFile and keyFile.
func withCert(t *testing.T, cfg *tls.Config, certFile, keyFile string) *tls.Config {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Clone()
	c.Certificates = []tls.Certificate{pair}
	return c
}

// TestRateLimitFromTOML: the [[limits]] of a config file hold over HTTP (429 with Retry-After
// once a request is refused as a whole) and WebSocket (-32005 with retryAfterMs), per IP.
func TestRateLimitFromTOML(t *testing.T) {
	config := filepath.Join(t.TempDir(), "polyrpc.toml")
	os.WriteFile(config, []byte(`
[[limits]]
methods = ["test_add"]
rate = 0.2        # one call every 5 s, once the burst is spent
burst = 3
key = "ip"
`), 0o600)
	s := startServer(t, "--config", config)
	const add = `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`
	var statuses []int
	for range 3 {
		status, _ := curlPost(t, s.HTTP, add, nil, nil, nil)
		statuses = append(statuses, status)
	}
	if fmt.Sprint(statuses) != "[200 200 200]" {
		t.Fatalf("the burst over HTTP: %v", statuses)
	}
	resp, err := http.Post(s.HTTP, "application/json", strings.NewReader(add))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ra := resp.Header.Get("Retry-After"); resp.StatusCode != 429 || ra == "" || !bytes.Contains(body, []byte(`"code":-32005`)) || !bytes.Contains(body, []byte(`"retryAfterMs":`)) {
		t.Fatalf("over the limit: %s, Retry-After %q, %s", resp.Status, ra, body)
	}
	w := dialWS(t, s.WS)
	w.Send([]byte(`[{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","id":2,"method":"test_echo","params":["x",1,null]}]`))
	msg, err := w.Recv(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var answers []struct {
		ID    int
		Error *struct {
			Code int
			Data struct{ RetryAfterMs int64 }
		}
	}
	if err := json.Unmarshal(msg, &answers); err != nil || len(answers) != 2 {
		t.Fatalf("batch answer %s: %v", msg, err)
	}
	if a := answers[0]; a.Error == nil || a.Error.Code != -32005 || a.Error.Data.RetryAfterMs <= 0 || a.Error.Data.RetryAfterMs > 5000 {
		t.Errorf("test_add over WebSocket: %s", msg)
	}
	if answers[1].Error != nil {
		t.Errorf("test_echo (no limit) refused: %s", msg)
	}
}

// TestTrustedProxies: behind a trusted proxy ([http] trustedproxies), a limit keyed by ip
// holds per client named by X-Forwarded-For; a header from an untrusted peer (the same client
// once the setting names another proxy) changes nothing.
func TestTrustedProxies(t *testing.T) {
	for _, tt := range []struct {
		name    string
		proxies string
		want    string // statuses: client A, A again, client B
	}{
		{"trusted", `["127.0.0.1"]`, "[200 429 200]"},
		{"not trusted", `["10.0.0.0/8"]`, "[200 429 429]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "polyrpc.toml")
			os.WriteFile(config, []byte(`
[http]
trustedproxies = `+tt.proxies+`
[[limits]]
methods = ["test_add"]
rate = 0.01
burst = 1
key = "ip"
`), 0o600)
			s := startServer(t, "--config", config)
			const add = `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`
			var statuses []int
			for _, client := range []string{"203.0.113.1", "203.0.113.1", "198.51.100.7"} {
				status, _ := curlPost(t, s.HTTP, add, []string{"X-Forwarded-For: " + client}, nil, nil)
				statuses = append(statuses, status)
			}
			if got := fmt.Sprint(statuses); got != tt.want {
				t.Errorf("statuses %s, want %s", got, tt.want)
			}
		})
	}
}

// TestCancel: the $/cancelRequest notification cancels a running call over WebSocket and
// IPC against the binary: the call is answered -32800 at once.
func TestCancel(t *testing.T) {
	s := startServer(t)
	ipc := s.dialIPC(t)
	defer ipc.Close()
	for name, w := range map[string]interface {
		Send([]byte) error
		Recv(time.Duration) ([]byte, error)
	}{
		"ws":  dialWS(t, s.WS),
		"ipc": &lineWire{c: ipc, r: bufio.NewReader(ipc)},
	} {
		start := time.Now()
		w.Send([]byte(`{"jsonrpc":"2.0","id":"slow","method":"test_sleep","params":[20000]}`))
		w.Send([]byte(`{"jsonrpc":"2.0","id":2,"method":"test_add","params":[1,2]}`))
		if msg, err := w.Recv(10 * time.Second); err != nil || string(msg) != `{"jsonrpc":"2.0","id":2,"result":3}` {
			t.Fatalf("%s: a call beside the slow one: %s, %v", name, msg, err)
		}
		w.Send([]byte(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"slow"}}`))
		msg, err := w.Recv(10 * time.Second)
		if err != nil || !strings.Contains(string(msg), `"id":"slow","error":{"code":-32800`) {
			t.Fatalf("%s: after the cancel: %s, %v", name, msg, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: the cancelled call took %v", name, d)
		}
	}
}
