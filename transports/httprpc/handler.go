package httprpc

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

const (
	contentTypeJSON = "application/json"
	// allowedMethods is the Allow header of 405 and OPTIONS answers, and the methods CORS allows.
	allowedMethods = "POST, GET, OPTIONS"
)

// acceptedContentTypes are the media types of a JSON-RPC request, as go-ethereum accepts.
var acceptedContentTypes = map[string]bool{
	"application/json":        true,
	"application/json-rpc":    true,
	"application/jsonrequest": true,
}

// acceptedContentType reports whether ct (a Content-Type header) is one of
// acceptedContentTypes, parameters allowed; the usual exact "application/json" is recognised
// without parsing.
func acceptedContentType(ct string) bool {
	if ct == contentTypeJSON {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && acceptedContentTypes[mt]
}

func isAllowedMethod(m string) bool {
	return m == http.MethodPost || m == http.MethodGet || m == http.MethodOptions
}

// handler serves JSON-RPC over HTTP POST; see NewHandler.
type handler struct {
	srv    *rpc.Server
	budget *rpc.Budget // srv's request budget
	cfg    config
}

// NewHandler returns an http.Handler that serves srv's methods over HTTP POST, one session per
// request; a nil opts gives the defaults. See the package documentation for the statuses and
// headers it answers with.
func NewHandler(srv *rpc.Server, opts *Options) http.Handler {
	return &handler{srv: srv, budget: srv.RequestBudget(), cfg: opts.config()}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if h.screen(w, r) {
		return
	}
	principal, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodGet && wantsEventStream(r) {
		msg, err := eventsRequest(r)
		if err != nil {
			http.Error(w, "event stream: "+err.Error(), http.StatusBadRequest)
			return
		}
		h.serveSSE(w, r, msg, principal, func() {})
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	reserved, err := h.readBody(w, r, bp)
	defer func() { h.budget.Release(reserved) }() // once the answer is written
	switch {
	case errors.Is(err, errBusy):
		h.srv.ReportRefusal(peerOf(r), rpc.RefusedBusy)
		w.Header().Set("Retry-After", "1")
		writeAnswer(w, r, http.StatusServiceUnavailable, refusal(rpc.CodeServerBusy, busyMessage, *bp))
	case errors.Is(err, errTooLarge):
		h.srv.ReportRefusal(peerOf(r), rpc.RefusedMessageTooLarge)
		http.Error(w, "request body too large (limit "+strconv.FormatInt(h.cfg.maxBody, 10)+" bytes)",
			http.StatusRequestEntityTooLarge)
	case err != nil:
		http.Error(w, "error reading request body", http.StatusBadRequest)
	case wantsEventStream(r):
		h.serveSSE(w, r, *bp, principal, func() {
			h.budget.Release(reserved)
			reserved = 0
		})
	default:
		h.serve(w, r, *bp, start, principal) // Handle reads the body only until it returns
	}
}

// authenticate runs the handler's authenticator, if any, on r and returns the principal; it
// answers 401 with a WWW-Authenticate challenge, and reports false, when it refuses r. A token
// in the URL's query is not a credential here: only a WebSocket upgrade takes one.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (any, bool) {
	if h.cfg.auth == nil {
		return nil, true
	}
	cred := &rpc.Credentials{Peer: peerOf(r), Header: r.Header, TLS: r.TLS}
	principal, expires, err := h.cfg.auth.Authenticate(r.Context(), cred)
	if err == nil && !expires.IsZero() && !time.Now().Before(expires) {
		err = errExpired
	}
	if err != nil {
		h.srv.ReportRefusal(cred.Peer, rpc.RefusedAuth)
		challenge := "Bearer"
		if cred.BearerToken() != "" {
			challenge = `Bearer error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
		return nil, false
	}
	return principal, true
}

// errExpired refuses a principal that the authenticator returned already expired.
var errExpired = errors.New("the credentials have expired")

// screen answers the requests that are not JSON-RPC or are refused before their body is read,
// and reports whether it did.
func (h *handler) screen(w http.ResponseWriter, r *http.Request) bool {
	if !h.cfg.hostAllowed(r.Host) {
		http.Error(w, "invalid host specified", http.StatusForbidden)
		return true
	}
	if h.cfg.cors != nil && h.cfg.cors.handle(w, r) {
		return true
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet:
		if wantsEventStream(r) {
			return false // an event stream: its call is in the query
		}
		if r.ContentLength == 0 && r.URL.RawQuery == "" {
			// Health probe: 200 with an empty body, as go-ethereum.
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return true
		}
	case http.MethodOptions:
		w.Header().Set("Allow", allowedMethods)
		w.WriteHeader(http.StatusNoContent)
		return true
	default:
		w.Header().Set("Allow", allowedMethods)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return true
	}
	if !acceptedContentType(r.Header.Get("Content-Type")) {
		http.Error(w, "invalid content type, only application/json is supported", http.StatusUnsupportedMediaType)
		return true
	}
	if h.cfg.maxBody >= 0 && r.ContentLength > h.cfg.maxBody {
		h.srv.ReportRefusal(peerOf(r), rpc.RefusedMessageTooLarge)
		http.Error(w, "content length too large ("+strconv.FormatInt(r.ContentLength, 10)+">"+
			strconv.FormatInt(h.cfg.maxBody, 10)+")", http.StatusRequestEntityTooLarge)
		return true
	}
	return false
}

// serve runs one JSON-RPC message in a session of its own and writes the answer.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, msg []byte, start time.Time, principal any) {
	opts := h.connOptions(r)
	opts.Principal = principal
	opts.Deadline, _ = h.cfg.callDeadline(r, start)
	out := newCapture(w, r)
	ss, err := h.srv.NewSession(h.cfg.context(r), opts, out)
	if err != nil {
		writeAnswer(w, r, http.StatusServiceUnavailable, refusal(rpc.CodeShuttingDown, stoppedMessage, msg))
		return
	}
	out.ss = ss
	err = ss.Handle(context.Background(), msg)
	sent := out.done()
	ss.Close()
	switch {
	case sent:
	case err != nil:
		writeAnswer(w, r, http.StatusServiceUnavailable, refusal(rpc.CodeShuttingDown, stoppedMessage, msg))
	default:
		closeAfter(w, ss)
		writeAnswer(w, r, http.StatusOK, nil) // notifications: 200 with an empty body
	}
}

// peerOf describes the client of r.
func peerOf(r *http.Request) rpc.PeerInfo {
	return rpc.PeerInfo{
		Transport:  rpc.TransportHTTP,
		RemoteAddr: r.RemoteAddr,
		Host:       r.Host,
		Origin:     r.Header.Get("Origin"),
		UserAgent:  r.UserAgent(),
	}
}

func (h *handler) connOptions(r *http.Request) rpc.ConnOptions {
	return rpc.ConnOptions{
		Peer:            peerOf(r),
		Namespaces:      h.cfg.namespaces,
		NoSubscriptions: true,
		// The answer is the response: capture sends a timeout answer while the call runs on.
		InlineTimedCalls: true,
	}
}
