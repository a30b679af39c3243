package guard_test

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/guard/jwtauth"
	"github.com/polyrpc/polyrpc/guard/tlsauth/tlstest"
	"github.com/polyrpc/polyrpc/rpc"
)

// TestSecurityTable tries each attack on a guarded server and shows what happened: the
// JWT endpoint's refusals, permissions, the rate limit and mutual TLS. Run it with -v for the
// table.
func TestSecurityTable(t *testing.T) {
	tg := newTarget(t)
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := func(claims jwt.MapClaims) string { return sign(jwt.SigningMethodHS256, tg.secret[:], claims) }
	wrong := jwtauth.NewSecret()
	// iat is now+d in whole seconds, rounded away from now: a claim of "61 s old" is at least
	// 61 s old when it is checked.
	iat := func(d time.Duration) jwt.MapClaims {
		t := time.Now().Add(d)
		if d > 0 && t.Truncate(time.Second) != t {
			t = t.Add(time.Second)
		}
		return jwt.MapClaims{"iat": t.Unix()}
	}
	const call = `{"jsonrpc":"2.0","id":1,"method":"pub_echo","params":[7]}`

	attacks := []struct {
		name   string
		try    func(t *testing.T) string
		result string // what must happen
	}{
		{"a valid token (control)", func(t *testing.T) string {
			return post(t, tg.authURL, call, "Bearer "+good(iat(0)))
		}, `200 {"jsonrpc":"2.0","id":1,"result":7}`},
		{"no token", func(t *testing.T) string {
			return post(t, tg.authURL, call, "")
		}, "401 unauthorized: missing token"},
		{"a token signed with a wrong secret", func(t *testing.T) string {
			return post(t, tg.authURL, call, "Bearer "+sign(jwt.SigningMethodHS256, wrong[:], iat(0)))
		}, "401 unauthorized: token signature is invalid: signature is invalid"},
		{"alg: none", func(t *testing.T) string {
			return post(t, tg.authURL, call, "Bearer "+sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, iat(0)))
		}, "401 unauthorized: token signature is invalid: signing method none is invalid"},
		{"alg: HS512 with the right secret", func(t *testing.T) string {
			return post(t, tg.authURL, call, "Bearer "+sign(jwt.SigningMethodHS512, tg.secret[:], iat(0)))
		}, "401 unauthorized: token signature is invalid: signing method HS512 is invalid"},
		{"iat 61 s old", func(t *testing.T) string {
			return post(t, tg.authURL, call, "Bearer "+good(iat(-61*time.Second)))
		}, "401 unauthorized: stale token"},
		{"iat 61 s ahead", func(t *testing.T) string {
			return post(t, tg.authURL, call, "Bearer "+good(iat(61*time.Second)))
		}, "401 unauthorized: future token"},
		{"an expired exp", func(t *testing.T) string {
			return post(t, tg.authURL, call, "Bearer "+good(jwt.MapClaims{"iat": time.Now().Unix(), "exp": time.Now().Add(-time.Second).Unix()}))
		}, "401 unauthorized: token is expired"},
		{"a token in the query string of an HTTP POST", func(t *testing.T) string {
			return post(t, tg.authURL+"/?token="+good(iat(0)), call, "")
		}, "401 unauthorized: missing token"},
		{"a token in the query string of a WebSocket upgrade (control)", func(t *testing.T) string {
			ws, err := dialWS(tg.authURL+"/?token="+good(iat(0)), nil)
			if err != nil {
				return err.Error()
			}
			defer ws.Close()
			return wsCall(ws, call)
		}, `{"jsonrpc":"2.0","id":1,"result":7}`},
		{"a WebSocket whose token expires", func(t *testing.T) string {
			exp := time.Now().Add(1500 * time.Millisecond)
			tok := good(jwt.MapClaims{"iat": time.Now().Unix(), "exp": exp.Unix()})
			ws, err := dialWS(tg.authURL, http.Header{"Authorization": {"Bearer " + tok}})
			if err != nil {
				return err.Error()
			}
			defer ws.Close()
			first := wsCall(ws, call)
			ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _, err = ws.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				return first + "; then " + fmt.Sprint(err)
			}
			return fmt.Sprintf("%s; then closed %d %q", first, ce.Code, ce.Text)
		}, `{"jsonrpc":"2.0","id":1,"result":7}; then closed 1008 "authentication expired"`},
		{"a forbidden method in a batch among allowed ones", func(t *testing.T) string {
			return post(t, tg.pubURL, `[{"jsonrpc":"2.0","id":1,"method":"pub_echo","params":[1]},`+
				`{"jsonrpc":"2.0","id":2,"method":"admin_secret"},{"jsonrpc":"2.0","id":3,"method":"pub_echo","params":[3]}]`, "")
		}, `200 [{"jsonrpc":"2.0","id":1,"result":1},{"jsonrpc":"2.0","id":2,"error":{"code":-32012,` +
			`"message":"permission denied: admin_secret needs the permission \"admin\""}},{"jsonrpc":"2.0","id":3,"result":3}]`},
		{"rpc.discover without permissions", func(t *testing.T) string {
			return discovered(t, tg.pubURL, "")
		}, "pub_echo pub_flood rpc.discover rpc_modules"},
		{"rpc.discover with every permission (control)", func(t *testing.T) string {
			return discovered(t, tg.authURL, "Bearer "+good(iat(0)))
		}, "admin_secret pub_echo pub_flood rpc.discover rpc_modules"},
		{"20 calls from 127.0.0.2 under a limit (5 at once, then 1 per 10 s), then 127.0.0.1", func(t *testing.T) string {
			flood := fromIP(t, "127.0.0.2")
			counts := map[string]int{}
			for i := range 20 {
				status, retry := postFrom(t, flood, tg.pubURL, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"pub_flood","params":[1]}`, i))
				if retry != "" {
					retry = " with Retry-After"
				}
				counts[fmt.Sprintf("%d%s", status, retry)]++
			}
			status, _ := postFrom(t, fromIP(t, "127.0.0.1"), tg.pubURL, `{"jsonrpc":"2.0","id":1,"method":"pub_flood","params":[1]}`)
			return fmt.Sprintf("flood: %v; other IP: %d", counts, status)
		}, `flood: map[200:5 429 with Retry-After:15]; other IP: 200`},
		{"TLS with a client certificate from another CA", func(t *testing.T) string {
			other, err := tlstest.NewCA("other CA")
			if err != nil {
				t.Fatal(err)
			}
			pair, err := other.Issue(tlstest.Options{CommonName: "mallory"})
			if err != nil {
				t.Fatal(err)
			}
			// Sent whatever authorities the server asks for (Go's client would send none).
			return handshake(tg.tlsAddr, &tls.Config{RootCAs: tg.ca.Pool(),
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair.TLS, nil }})
		}, "refused in the handshake: remote error: tls: unknown certificate authority"},
		{"TLS with a client certificate from the CA (control)", func(t *testing.T) string {
			pair, err := tg.ca.Issue(tlstest.Options{CommonName: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			return handshake(tg.tlsAddr, &tls.Config{RootCAs: tg.ca.Pool(), Certificates: []tls.Certificate{pair.TLS}})
		}, "handshake done, HTTP/1.1 200 OK"},
	}
	var table strings.Builder
	for _, a := range attacks {
		got := a.try(t)
		mark := "ok  "
		if got != a.result {
			mark = "FAIL"
			t.Errorf("%s:\n got  %s\n want %s", a.name, got, a.result)
		}
		fmt.Fprintf(&table, "%s %-62s -> %s\n", mark, a.name, got)
	}
	t.Logf("what each attack met:\n%s", table.String())
	// The hooks count the refusals: 8 by the authenticator (the six bad tokens, the missing
	// one and the one in a POST's query), 15 by the rate limit.
	if a, r := tg.refusals(rpc.RefusedAuth), tg.refusals("rate"); a != 8 || r != 15 {
		t.Errorf("hooks saw %d auth and %d rate refusals, want 8 and 15", a, r)
	}
}

// post sends body to url with an Authorization header (if auth is set) and returns the status
// and the body, trimmed.
func post(t *testing.T, url, body, auth string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
}

// discovered returns the method names rpc.discover lists at url, sorted as the document has
// them.
func discovered(t *testing.T, url, auth string) string {
	t.Helper()
	got := post(t, url, `{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}`, auth)
	status, body, _ := strings.Cut(got, " ")
	if status != "200" {
		return got
	}
	var doc struct {
		Result struct {
			Methods []struct{ Name string } `json:"methods"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range doc.Result.Methods {
		names = append(names, m.Name)
	}
	return strings.Join(names, " ")
}

// dialWS opens a WebSocket to an http:// URL with header.
func dialWS(url string, header http.Header) (*websocket.Conn, error) {
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http"), header)
	if err != nil && resp != nil {
		return nil, fmt.Errorf("upgrade refused: %s", resp.Status)
	}
	return ws, err
}

// wsCall sends msg on ws and returns the answer.
func wsCall(ws *websocket.Conn, msg string) string {
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		return err.Error()
	}
	_, b, err := ws.ReadMessage()
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(b))
}

// fromIP returns an HTTP client whose connections come from the local address ip (any address
// of 127.0.0.0/8 is the loopback on Linux); the test is skipped where it cannot bind there.
func fromIP(t *testing.T, ip string) *http.Client {
	t.Helper()
	local := &net.TCPAddr{IP: net.ParseIP(ip)}
	probe, err := net.ListenTCP("tcp", local)
	if err != nil {
		t.Skipf("cannot use %s as a source address here: %v", ip, err)
	}
	probe.Close()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// postFrom posts body to url with c and returns the status and Retry-After header.
func postFrom(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// handshake makes a TLS connection to addr with cfg and a GET /, and tells how it went.
func handshake(addr string, cfg *tls.Config) string {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "refused in the handshake: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// Under TLS 1.3 the client hears of a refused certificate at its first read.
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		return "refused in the handshake: " + err.Error()
	}
	line, err := readLine(c)
	if err != nil {
		return "refused in the handshake: " + err.Error()
	}
	return "handshake done, " + line
}

// readLine reads up to the first CRLF.
func readLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := r.Read(one); err != nil {
			return string(b), err
		}
		if one[0] == '\n' {
			return strings.TrimRight(string(b), "\r"), nil
		}
		b = append(b, one[0])
	}
}
