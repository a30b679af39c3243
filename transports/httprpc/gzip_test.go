package httprpc_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

func TestGzip(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ts := newServer(t, nil, nil)
	c := rawClient(t)
	long := `{"jsonrpc":"2.0","id":7,"result":"` + strings.Repeat("ab", 50_000) + `"}` + "\n"
	tests := []struct {
		name     string
		accept   string
		body     string
		want     string
		compress bool
	}{
		{"gzip", "gzip", addCall, addAnswer, true},
		{"list", "br, GZIP;q=0.5, deflate", addCall, addAnswer, true},
		{"large", "gzip", `{"jsonrpc":"2.0","id":7,"method":"test_repeat","params":["ab",50000]}`, long, true},
		{"refused", "gzip;q=0", addCall, addAnswer, false},
		{"not asked", "", addCall, addAnswer, false},
		{"other coding", "br", addCall, addAnswer, false},
		{"empty answer", "gzip", `{"jsonrpc":"2.0","method":"test_incr"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := request{body: tt.body, header: map[string]string{"Accept-Encoding": tt.accept}}.do(t, c, ts.URL)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s, body %d bytes", cl, len(body))
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.compress {
				t.Fatalf("Content-Encoding %q, want gzip: %v", resp.Header.Get("Content-Encoding"), tt.compress)
			}
			if tt.want != "" && resp.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q, want Accept-Encoding", resp.Header.Get("Vary"))
			}
			if tt.compress {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if string(body) != tt.want {
				t.Fatalf("body (%d bytes) %.80q, want (%d bytes) %.80q", len(body), body, len(tt.want), tt.want)
			}
		})
	}
}
