package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesIndex(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/index.html"} {
		rec := get(t, h, http.MethodGet, p)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		if !strings.Contains(rec.Body.String(), "<title>polyrpc console</title>") {
			t.Errorf("GET %s: not the console:\n%s", p, rec.Body)
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", p)
		}
	}
	if rec := get(t, h, http.MethodHead, "/"); rec.Code != http.StatusOK {
		t.Errorf("HEAD /: %d", rec.Code)
	}
}

func TestHandlerContentTypesAndCaching(t *testing.T) {
	h := Handler()
	want := map[string]string{
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".html": "text/html; charset=utf-8",
		".ico":  "image/x-icon",
	}
	names, err := fs.Glob(assets, "*")
	if err != nil || len(names) < 5 {
		t.Fatalf("embedded files %v (%v)", names, err)
	}
	for _, name := range names {
		rec := get(t, h, http.MethodGet, "/"+name)
		if rec.Code != http.StatusOK {
			t.Errorf("GET /%s: %d", name, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != want[path.Ext(name)] {
			t.Errorf("GET /%s: Content-Type %q, want %q", name, ct, want[path.Ext(name)])
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET /%s: Cache-Control %q", name, cc)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET /%s: no nosniff", name)
		}
		etag := rec.Header().Get("ETag")
		if etag == "" {
			t.Errorf("GET /%s: no ETag", name)
			continue
		}
		if again := get(t, h, http.MethodGet, "/"+name, "If-None-Match", etag); again.Code != http.StatusNotModified {
			t.Errorf("GET /%s with If-None-Match: %d, want 304", name, again.Code)
		}
	}
}

// TestFavicon: browsers ask for /favicon.ico on every page load; it is an icon file, and both
// pages link it.
func TestFavicon(t *testing.T) {
	rec := get(t, Handler(), http.MethodGet, "/favicon.ico")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/x-icon" {
		t.Fatalf("GET /favicon.ico: %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if b := rec.Body.Bytes(); len(b) < 22 || string(b[:4]) != "\x00\x00\x01\x00" || len(b) > 4<<10 {
		t.Errorf("/favicon.ico is not a small ICO file: % x", b[:min(len(b), 8)])
	}
	for _, page := range []string{"index.html", "chat.html"} {
		data, _ := assets.ReadFile(page)
		if !strings.Contains(string(data), `<link rel="icon" href="favicon.ico">`) {
			t.Errorf("%s does not link favicon.ico", page)
		}
	}
}

func TestHandlerRefusesTheRest(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/nope.js", "/web.go", "/web_test.go", "/./", "/index.html/", "/../web.go", "/app.js/..", "//", "/.."} {
		if rec := get(t, h, http.MethodGet, p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	rec := get(t, h, http.MethodPost, "/app.js")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /app.js: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// svgNamespace is the SVG namespace's name (chart.js draws with createElementNS).
const svgNamespace = "http://www.w3.org/2000/svg"

// Every asset is local: no http(s):// address (no CDN, nothing fetched from elsewhere), and
// every file that a page or a module names is embedded.
func TestAssetsAreLocal(t *testing.T) {
	external := regexp.MustCompile(`(?i)\b(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	refs := regexp.MustCompile(`(?m)(?:\s(?:src|href)="|^(?:import|export)\b[^;"]*\bfrom\s+"|\bimport\s*\(\s*")([^"#?]*)`)
	names, _ := fs.Glob(assets, "*")
	for _, name := range names {
		data, err := assets.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, loc := range external.FindAllIndex(data, -1) {
			if strings.HasPrefix(string(data[loc[0]:]), svgNamespace) {
				continue // a name that createElementNS needs, not an address anything is fetched from
			}
			t.Errorf("%s refers to %q: the console must use only its own files", name, data[loc[0]:loc[1]])
		}
		for _, m := range refs.FindAllSubmatch(data, -1) {
			ref := strings.TrimPrefix(string(m[1]), "./")
			if ref == "" {
				continue // "./": the console itself
			}
			if _, err := fs.Stat(assets, ref); err != nil {
				t.Errorf("%s refers to %q, which is not embedded", name, m[1])
			}
		}
	}
}
