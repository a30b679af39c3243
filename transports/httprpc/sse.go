package httprpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// Server-Sent Events: a subscription over plain HTTP. The request (a POST body, or the query of
// a GET: method, params, id) is one call, normally NS_subscribe; the answer is the first event
// and each notification of the subscription one more, until the client goes, the server stops
// or the subscription ends. See the package documentation.

const contentTypeSSE = "text/event-stream"

// DefaultSSEKeepAlive is the default of Options.SSEKeepAlive.
const DefaultSSEKeepAlive = 15 * time.Second

// wantsEventStream reports whether the request's Accept header lists text/event-stream.
func wantsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == contentTypeSSE {
				return true
			}
		}
	}
	return false
}

// eventsRequest builds the call of a GET: method, params (JSON, default none) and id (JSON,
// default 1) from the query.
func eventsRequest(r *http.Request) ([]byte, error) {
	q := r.URL.Query()
	method := q.Get("method")
	if method == "" {
		return nil, errors.New("missing query parameter method")
	}
	req := map[string]json.RawMessage{"jsonrpc": json.RawMessage(`"2.0"`), "id": json.RawMessage("1")}
	m, _ := json.Marshal(method)
	req["method"] = m
	for _, k := range []string{"params", "id"} {
		if v := q.Get(k); v != "" {
			if !json.Valid([]byte(v)) {
				return nil, errors.New("query parameter " + k + " is not JSON")
			}
			req[k] = json.RawMessage(v)
		}
	}
	return json.Marshal(req)
}

// resumeFrom rewrites a request to resume after the event whose id the client last received
// (Last-Event-ID, "EPOCH:OFFSET"): the position goes in as the last positional parameter,
// replacing a position already there. Other requests are returned unchanged.
func resumeFrom(msg []byte, lastID string) []byte {
	epoch, off, ok := strings.Cut(lastID, ":")
	offset, err := strconv.ParseUint(off, 10, 64)
	if !ok || err != nil || epoch == "" {
		return msg
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(msg, &req) != nil {
		return msg
	}
	var params []json.RawMessage
	if p := req["params"]; len(p) > 0 && json.Unmarshal(p, &params) != nil {
		return msg // params by name: left alone
	}
	pos, _ := json.Marshal(struct {
		Epoch  string `json:"epoch"`
		Offset uint64 `json:"offset"`
	}{epoch, offset})
	if n := len(params); n > 0 && isPosition(params[n-1]) {
		params[n-1] = pos
	} else {
		params = append(params, pos)
	}
	req["params"], _ = json.Marshal(params)
	out, err := json.Marshal(req)
	if err != nil {
		return msg
	}
	return out
}

// isPosition reports whether v is an object with exactly the members epoch and offset.
func isPosition(v json.RawMessage) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || len(m) != 2 {
		return false
	}
	_, e := m["epoch"]
	_, o := m["offset"]
	return e && o
}

// serveSSE runs one call in a session whose messages are events of the response, and keeps the
// response open while the call's subscription lives. release gives back the request's bytes.
func (h *handler) serveSSE(w http.ResponseWriter, r *http.Request, msg []byte, principal any, release func()) {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		msg = resumeFrom(msg, id)
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	hdr := w.Header()
	hdr.Set("Content-Type", contentTypeSSE)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // proxies: pass events on as they come
	w.WriteHeader(http.StatusOK)
	rc.Flush()

	out := &sseWriter{w: w, rc: rc, closed: make(chan struct{})}
	opts := h.connOptions(r)
	opts.Principal = principal
	opts.NoSubscriptions, opts.InlineTimedCalls = false, false
	ss, err := h.srv.NewSession(h.cfg.context(r), opts, out)
	if err != nil {
		out.WriteMessage(refusal(rpc.CodeShuttingDown, stoppedMessage, msg))
		return
	}
	defer ss.Close()
	err = ss.Handle(context.Background(), msg)
	release()
	if err != nil || ss.Subscriptions() == 0 {
		return // no subscription: the answer was all
	}
	keep := time.NewTicker(h.cfg.sseKeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done(): // the client went
			return
		case <-out.closed: // the session closed: server stopping, client not reading
			return
		case <-keep.C:
			if ss.Subscriptions() == 0 { // the subscription ended
				return
			}
			if out.comment("keep-alive") != nil {
				return
			}
		}
	}
}

// sseWriter is the writer of a session whose messages are Server-Sent Events: each message is
// one event, its data the message. A notification's event id is its position, EPOCH:OFFSET
// (the epoch from the subscription's position notices, which also carry it), so that a client
// that reconnects with Last-Event-ID resumes after it.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu      sync.Mutex
	epoch   string // from the last position notice
	failed  bool
	closed  chan struct{}
	closeMu sync.Once
	buf     []byte
}

var (
	_ rpc.MessageWriter = (*sseWriter)(nil)
	_ rpc.Flusher       = (*sseWriter)(nil)
)

var errSSEClosed = errors.New("httprpc: event stream closed")

// WriteMessage implements rpc.MessageWriter: it writes msg as one event.
func (s *sseWriter) WriteMessage(msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed || s.isClosed() {
		return errSSEClosed
	}
	msg = bytes.TrimRight(msg, "\n")
	b := s.buf[:0]
	if id := s.eventID(msg); id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, msg...)
	b = append(b, "\n\n"...)
	s.buf = b
	if _, err := s.w.Write(b); err != nil {
		s.failed = true
		return err
	}
	return nil
}

// Flush implements rpc.Flusher.
func (s *sseWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed || s.isClosed() {
		return errSSEClosed
	}
	if err := s.rc.Flush(); err != nil {
		s.failed = true
		return err
	}
	return nil
}

// Close implements io.Closer: the session closed (the server stops it, or the client does
// not read); the handler returns.
func (s *sseWriter) Close() error {
	s.closeMu.Do(func() { close(s.closed) })
	return nil
}

func (s *sseWriter) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// comment writes an SSE comment line (ignored by clients; keeps proxies from timing out).
func (s *sseWriter) comment(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed || s.isClosed() {
		return errSSEClosed
	}
	if _, err := s.w.Write([]byte(": " + text + "\n\n")); err != nil {
		s.failed = true
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.failed = true
		return err
	}
	return nil
}

// Notification shapes (internal/wire): a position notice carries the epoch, a notification of
// a Feed ends with its offset.
var (
	positionSuffix     = []byte(`_subscriptionPosition","params":`)
	subscriptionSuffix = []byte(`_subscription","params":`)
	offsetMember       = []byte(`,"offset":`)
)

// eventID returns the id of msg's event: EPOCH:OFFSET for a position notice or a notification
// with an offset (once the epoch is known), otherwise none. s.mu is held.
func (s *sseWriter) eventID(msg []byte) string {
	switch {
	case bytes.Contains(msg, positionSuffix):
		var n struct {
			Params struct {
				Epoch  string `json:"epoch"`
				Offset uint64 `json:"offset"`
			} `json:"params"`
		}
		if json.Unmarshal(msg, &n) != nil || n.Params.Epoch == "" {
			return ""
		}
		s.epoch = n.Params.Epoch
		return s.epoch + ":" + strconv.FormatUint(n.Params.Offset, 10)
	case s.epoch != "" && bytes.HasSuffix(msg, []byte("}}")) && bytes.Contains(msg[:min(len(msg), 256)], subscriptionSuffix):
		body := msg[:len(msg)-2]
		i := bytes.LastIndex(body, offsetMember)
		if i < 0 {
			return ""
		}
		off := body[i+len(offsetMember):]
		if _, err := strconv.ParseUint(string(off), 10, 64); err != nil {
			return ""
		}
		return s.epoch + ":" + string(off)
	}
	return ""
}
