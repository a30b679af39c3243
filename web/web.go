// Package web is polyrpc's browser console: plain HTML, CSS and JavaScript modules, embedded in
// the binary with go:embed and served by Handler. There is no build step and nothing is fetched
// from elsewhere; the page talks JSON-RPC 2.0 over a WebSocket to the host that served it.
//
// The files:
//
//   - index.html, app.js: the method explorer. app.js connects, shows the connection status and
//     wires the panels together.
//   - jsonrpc.js: a small reusable JSON-RPC 2.0 client over WebSocket (calls with timeouts,
//     batches, notifications, subscriptions, reconnection with backoff). It depends on nothing
//     else here and can be copied into other pages.
//   - discover.js: loads rpc.discover (OpenRPC), falling back to rpc_modules.
//   - methods.js, form.js: the searchable method list, a method's documentation and the form
//     generated from its parameter schemas, with a raw JSON mode.
//   - result.js: renders results and errors (code, message, data).
//   - subs.js: the live subscriptions panel (notifications, lag notices, Unsubscribe).
//   - chat.html, chat.js: a chat page on the chat service (rooms, history, live messages).
//   - server.html, server.js, chart.js: the Server page: calls per second, latency, errors,
//     connections and subscriptions as live SVG charts, from admin_stats (which the page
//     says it cannot see when the connection does not offer admin).
//   - status.js: the connection indicator of the pages.
//   - dom.js: tiny DOM helpers shared by the modules.
//   - style.css: the shared style sheet.
//   - favicon.ico: the pages' icon (16×16), which browsers also ask for at /favicon.ico.
//
// Handler serves these files: the console at "/", each asset by its name, 404 for anything
// else (there are no directory listings).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed *.html *.css *.js *.ico
var assets embed.FS

// contentTypes maps the extensions of the embedded files to their media types. It is explicit
// rather than taken from the mime package, whose table the host's mime.types files may change;
// module scripts must be served as JavaScript or browsers refuse them.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".ico":  "image/x-icon",
}

// securityPolicy lets the page load only its own files and connect only to its own origin
// (and WebSocket endpoints, which 'self' does not cover in every browser).
const securityPolicy = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

type file struct {
	data        []byte
	contentType string
	etag        string
}

// Handler returns an http.Handler serving the browser console: index.html at "/" (and
// "/index.html"), the other assets by name. Only GET and HEAD are answered. Responses carry an
// ETag and "Cache-Control: no-cache", so browsers revalidate and pick up a new binary's files at
// once; unknown paths are 404.
func Handler() http.Handler {
	files := make(map[string]*file)
	err := fs.WalkDir(assets, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		files["/"+name] = &file{data: data, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: reading embedded assets: " + err.Error()) // cannot happen with go:embed
	}
	files["/"] = files["/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := files[r.URL.Path] // exact names only: nothing else of the file system is reachable
		if f == nil {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(f.contentType, "text/html") {
			h.Set("Content-Security-Policy", securityPolicy)
			h.Set("Referrer-Policy", "no-referrer")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
	})
}
